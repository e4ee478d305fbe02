"""Satisfaction use cases: rate a resolved ticket, comment on the rating, send and answer the
after-sales revisit, and hand timed jobs to the scheduler.

Like :mod:`bot.core.services.tickets`, each function works inside the caller's unit of work
and returns the replies to deliver after the commit; a low rating and a "still a problem"
reopen the ticket through :func:`~bot.core.services.tickets.transition`, so the reopening is
recorded exactly as a supervisor's would be.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core import rating_prompts as prompts
from bot.core.deps import Deps
from bot.core.messages import Reply
from bot.core.models import Conversation, Customer, Reachability
from bot.core.outbox import Lane, enqueue
from bot.core.policies import Policies
from bot.core.ports import JobRequest, UnitOfWork
from bot.core.ratings import (
    RATEABLE_STATES,
    Rating,
    RevisitAnswer,
    is_low,
    is_score,
    may_rate,
)
from bot.core.services.customers import customer_locale
from bot.core.services.tickets import transition
from bot.core.tickets import REOPEN_TO, EventKind, Ticket, TicketEvent

log = logging.getLogger(__name__)


class Status(StrEnum):
    DONE = "done"
    ALREADY = "already"
    REFUSED = "refused"


@dataclass(slots=True)
class RatingOutcome:
    """What became of a rating (or a revisit answer), and the messages it calls for."""

    status: Status
    replies: list[Reply] = field(default_factory=list)
    ticket: Ticket | None = None
    low: bool = False


def _name(customer: Customer) -> str:
    return customer.first_name or customer.display_name


def _alerts(
    key: str, params: Mapping[str, object], policies: Policies, about: int | None
) -> list[Reply]:
    """A supervisor alert; it quotes the customer, so it is logged as about them (`about`) and
    erased with them."""
    return [
        Reply(key, params, chat_id=chat, locale=policies.staff.locale, about_customer_id=about)
        for chat in policies.staff.supervisors()
    ]


async def rate(
    uow: UnitOfWork,
    customer: Customer,
    ticket_id: int,
    score: int,
    *,
    now: datetime,
    policies: Policies,
    locales: Sequence[str],
) -> RatingOutcome:
    """Stores the customer's rating of a resolved ticket (once), as a rating and as a ticket
    event. A low score reopens the ticket and alerts a supervisor."""
    assert customer.id is not None
    ticket = await uow.tickets.get(ticket_id)
    if ticket is None or ticket.customer_id != customer.id or not is_score(score):
        return RatingOutcome(Status.REFUSED)
    if await uow.ratings.get(ticket_id) is not None:
        return RatingOutcome(Status.ALREADY, ticket=ticket)
    if not may_rate(ticket, customer.id, now, policies.ratings.window_days):
        return RatingOutcome(Status.REFUSED, ticket=ticket)
    if not await uow.ratings.add(Rating(ticket_id, customer.id, score, now)):
        return RatingOutcome(Status.ALREADY, ticket=ticket)
    actor = f"customer:{customer.id}"
    await uow.tickets.add_event(
        TicketEvent(ticket_id, now, actor, EventKind.RATED, data={"score": score})
    )
    low = is_low(score, policies.ratings.reopen_at_most)
    params: dict[str, object] = {"name": _name(customer), "number": ticket.number, "score": score}
    if not low:
        return RatingOutcome(Status.DONE, [Reply("rating.thanks", params)], ticket)
    reopened = await transition(
        uow,
        ticket_id,
        REOPEN_TO,
        actor=actor,
        now=now,
        policies=policies,
        locales=locales,
        note=None,
    )
    alert = {
        "number": ticket.number,
        "score": score,
        "customer": customer.display_name,
        "summary": ticket.summary or ticket.text,
    }
    replies = [
        Reply("rating.sorry_low", params),
        *_alerts("rating.staff_alert", alert, policies, customer.id),
    ]
    return RatingOutcome(Status.DONE, replies, reopened.ticket, low=True)


async def add_comment(
    uow: UnitOfWork,
    customer: Customer,
    pending: prompts.Pending,
    text: str,
    *,
    now: datetime,
    policies: Policies,
) -> list[Reply]:
    """Keeps the optional comment on a rating (the first one only); after a low rating the
    supervisor sees it too."""
    assert customer.id is not None
    comment = prompts.clean_comment(text, policies.ratings.comment_max_chars)
    ticket = await uow.tickets.get(pending.ticket_id)
    if comment is None or ticket is None or ticket.customer_id != customer.id:
        return []
    params: dict[str, object] = {"name": _name(customer), "number": ticket.number}
    if not await uow.ratings.set_comment(pending.ticket_id, comment):
        return [Reply("rating.comment_thanks", params)]
    await uow.tickets.add_event(
        TicketEvent(
            pending.ticket_id,
            now,
            f"customer:{customer.id}",
            EventKind.NOTE,
            note=comment,
            data={"rating_comment": True, "score": pending.score},
        )
    )
    replies = [Reply("rating.comment_thanks", params)]
    if is_low(pending.score, policies.ratings.reopen_at_most):
        alert = {"number": ticket.number, "score": pending.score, "text": comment}
        replies += _alerts("rating.staff_comment", alert, policies, customer.id)
    return replies


async def send_revisit(
    uow: UnitOfWork,
    ticket_id: int,
    *,
    now: datetime,
    policies: Policies,
    locales: Sequence[str],
) -> list[Reply]:
    """Claims the ticket's revisit if it is due and unclaimed, and words it, unless the ticket
    was reopened since or the customer cannot be reached (then it is noted as skipped). Runs
    at most once per resolution however often it is called."""
    if not await uow.ratings.claim_revisit(ticket_id, now):
        log.debug("revisit of ticket %s not due or already claimed", ticket_id)
        return []
    ticket = await uow.tickets.get(ticket_id)
    customer = await uow.customers.get(ticket.customer_id) if ticket else None
    reason = None
    if ticket is None or customer is None:
        reason = "gone"
    elif ticket.state not in RATEABLE_STATES:
        reason = "reopened"
    elif customer.reachability is not Reachability.REACHABLE or customer.chat_id is None:
        reason = "unreachable"
    if reason is not None or ticket is None or customer is None:
        await uow.ratings.skip_revisit(ticket_id, reason or "gone")
        log.info("revisit of ticket %s skipped: %s", ticket_id, reason)
        return []
    await uow.tickets.add_event(
        TicketEvent(ticket_id, now, "bot", EventKind.REVISIT, data={"sent": True})
    )
    locale = customer_locale(customer, policies.locale.default_locale, locales)
    return [
        prompts.revisit_question(ticket_id, ticket.number, _name(customer), ticket.chat_id, locale)
    ]


async def answer_revisit(
    uow: UnitOfWork,
    customer: Customer,
    ticket_id: int,
    answer: RevisitAnswer,
    *,
    now: datetime,
    policies: Policies,
    locales: Sequence[str],
) -> RatingOutcome:
    """The customer's answer to the revisit, kept once. "Still a problem" reopens the ticket
    (if it is not open again already) and tells the staff."""
    assert customer.id is not None
    ticket = await uow.tickets.get(ticket_id)
    revisit = await uow.ratings.get_revisit(ticket_id)
    if ticket is None or ticket.customer_id != customer.id or revisit is None:
        return RatingOutcome(Status.REFUSED)
    params: dict[str, object] = {"name": _name(customer), "number": ticket.number}
    if not await uow.ratings.answer_revisit(ticket_id, answer, now):
        return RatingOutcome(Status.ALREADY, [Reply("revisit.already", params)], ticket)
    actor = f"customer:{customer.id}"
    await uow.tickets.add_event(
        TicketEvent(ticket_id, now, actor, EventKind.REVISIT, data={"answer": answer.value})
    )
    if answer is RevisitAnswer.ALL_GOOD:
        return RatingOutcome(Status.DONE, [Reply("revisit.thanks", params)], ticket)
    if ticket.state not in RATEABLE_STATES:
        return RatingOutcome(Status.DONE, [Reply("revisit.already_open", params)], ticket)
    reopened = await transition(
        uow, ticket_id, REOPEN_TO, actor=actor, now=now, policies=policies, locales=locales
    )
    alert = {
        "number": ticket.number,
        "customer": customer.display_name,
        "summary": ticket.summary or ticket.text,
    }
    replies = [
        Reply("revisit.reopened", params),
        *_alerts("revisit.staff_problem", alert, policies, customer.id),
    ]
    return RatingOutcome(Status.DONE, replies, reopened.ticket, low=True)


async def schedule(deps: Deps, jobs: Sequence[JobRequest]) -> None:
    """Hands timed jobs to the scheduler; call it after the unit of work that asked for them
    has committed. Without a scheduler (the command line, tests) they are left to the
    periodic sweeps, which find what fell due."""
    if not jobs:
        return
    if deps.scheduler is None:
        log.debug("no scheduler: %d job(s) left to the sweeps", len(jobs))
        return
    for job in jobs:
        try:
            await deps.scheduler.schedule_at(job.job_id, job.target, job.at, *job.ids)
        except Exception:  # what the job does is planned in the database: a sweep will see it
            log.exception("could not schedule job %s; left to the sweep", job.job_id)


async def run_revisit(deps: Deps, ticket_id: int) -> list[int]:
    """One revisit in its own unit of work: claimed, and its question written to the outbox
    (proactive lane, key ``revisit:<ticket>``) in the same transaction, so a crash after the
    commit loses no question and a second run queues none. Returns the outbox rows queued."""
    now = deps.clock.now()
    queued: list[int] = []
    async with deps.uow() as uow:
        replies = await send_revisit(
            uow, ticket_id, now=now, policies=deps.policies, locales=deps.renderer.locales
        )
        for reply in replies:
            row = await enqueue(
                uow,
                deps,
                reply,
                key=f"revisit:{ticket_id}",
                lane=Lane.PROACTIVE,
                locale=reply.locale or deps.policies.locale.default_locale,
                now=now,
            )
            if row is not None:
                queued.append(row)
        await uow.commit()
    return queued


async def due_revisits(deps: Deps, limit: int = 500) -> list[int]:
    async with deps.uow() as uow:
        return await uow.ratings.due_revisits(deps.clock.now(), limit)


# --- use cases: each opens, decides and commits its own unit of work -------------------------


async def rate_ticket(
    deps: Deps,
    customer: Customer,
    ticket_id: int,
    score: int,
    *,
    then: Conversation | None = None,
) -> RatingOutcome:
    """The customer's 1–5 for a resolved ticket. When the rating is kept, the dialogue state
    `then` (the comment step) is saved in the same unit of work."""
    async with deps.uow() as uow:
        outcome = await rate(
            uow,
            customer,
            ticket_id,
            score,
            now=deps.clock.now(),
            policies=deps.policies,
            locales=deps.renderer.locales,
        )
        if then is not None and outcome.status is Status.DONE:
            await uow.conversations.save(then)
        await uow.commit()
    return outcome


async def comment_on_rating(
    deps: Deps, customer: Customer, pending: prompts.Pending | None, text: str
) -> list[Reply]:
    """The customer's text after "Anything you'd like to add?"; the comment step ends."""
    async with deps.uow() as uow:
        replies = (
            await add_comment(
                uow, customer, pending, text, now=deps.clock.now(), policies=deps.policies
            )
            if pending is not None
            else []
        )
        if customer.chat_id is not None:
            await uow.conversations.clear(customer.chat_id)
        await uow.commit()
    return replies


async def answer_revisit_question(
    deps: Deps, customer: Customer, ticket_id: int, answer: RevisitAnswer
) -> RatingOutcome:
    """The customer's answer to the after-sales revisit, kept once."""
    async with deps.uow() as uow:
        outcome = await answer_revisit(
            uow,
            customer,
            ticket_id,
            answer,
            now=deps.clock.now(),
            policies=deps.policies,
            locales=deps.renderer.locales,
        )
        await uow.commit()
    return outcome
