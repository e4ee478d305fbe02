"""Profile completion use cases (rules in :mod:`bot.core.profile`): ask at a natural moment,
take the answers, and read the completeness figures.

**When the bot asks.** :func:`invite` — after the rating exchange of a resolved ticket ends
(the handlers of :mod:`bot.handlers.ratings` call it) — and :func:`ask_after_first_orders` —
the customers whose first order (imported or pushed) was recorded within
``first_order_hours``, looked for with each playbook run. Either asks for the first missing
field never asked before, and records the ask in the same unit of work (at most once per field
and customer, whatever the re-runs or processes). Nothing is asked of a customer who has an
open ticket or an open request for a person, who cannot be reached, or who has no chat yet.

**Quiet hours.** Inside the customer's quiet hours (the playbook's, in their time zone) the
question is not said now: it is written to the outbox held until the window opens
(``not_before``), never dropped. Otherwise :func:`invite` returns it for the handler to say
after its own replies (so it comes after the thanks), and the sweep writes it due at once.
Either way it goes through the outbox, under ``profile:<customer>:<field>``. Caps and consent
do not apply: it is a service question about the customer's own account.

**The answers.** :func:`give` keeps a language or a time zone (or notes that the customer
chose to link their account) and asks the next missing field; :func:`not_now` ends the round
("Not now": the fields not asked yet may be asked at the next natural moment, the ones asked
are not asked again); :func:`start_typing_zone` and :func:`typed_zone` take a typed zone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.delivery import render_reply
from bot.core.deps import Deps
from bot.core.engagement.guards import quiet_until, zone_of
from bot.core.messages import Reply
from bot.core.models import Customer, Reachability
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.ports import UnitOfWork, UnitOfWorkFactory
from bot.core.profile import (
    Answer,
    Completeness,
    ProfileField,
    ProfilePolicy,
    completeness,
    facts_of,
    next_field,
    question,
    typing_zone,
    valid_zone,
)
from bot.core.services.customers import customer_locale
from bot.core.tiers import Lifecycle

log = logging.getLogger(__name__)

ACTIVE_STAGES = (Lifecycle.NEW.value, Lifecycle.ACTIVE.value)
"""SPEC §3: a customer with a paid order within 90 days (``new`` is the first 30 of them)."""


def outbox_key(customer_id: int, which: ProfileField) -> str:
    return f"profile:{customer_id}:{which.value}"


def _name(customer: Customer) -> str:
    return customer.first_name or customer.display_name


async def _busy(uow: UnitOfWork, customer_id: int) -> bool:
    """Whether the customer has an open ticket or an open request for a person."""
    return bool(await uow.tickets.open_for_customer(customer_id)) or bool(
        await uow.requests.open_for_customer(customer_id)
    )


async def _ask(
    deps: Deps,
    uow: UnitOfWork,
    customer: Customer,
    now: datetime,
    *,
    first: bool,
    locale: str | None = None,
    quiet_since: datetime | None = None,
) -> tuple[ProfileField, Reply] | None:
    """The next field to ask and its question, recorded as asked; None when there is none
    (or, with `quiet_since`, when anything was asked since then: that moment had its round)."""
    assert customer.id is not None
    policy = deps.policies.profile
    asked = await uow.profile.asked(customer.id)
    if quiet_since is not None and any(a.asked_at >= quiet_since for a in asked.values()):
        return None
    which = next_field(facts_of(customer), policy, asked)
    if which is None or not await uow.profile.record_ask(customer.id, which, now):
        return None
    reply = question(which, _name(customer), deps.renderer.locales, policy, first=first)
    return which, replace(reply, locale=locale)


def _held_until(deps: Deps, customer: Customer, now: datetime) -> datetime | None:
    """When the customer's quiet hours end, if `now` is inside them."""
    engagement = deps.policies.engagement
    zone = zone_of(customer.timezone, deps.policies.locale.default_timezone)
    return quiet_until(now, zone, engagement.quiet_start, engagement.quiet_end)


async def _open_round(
    deps: Deps,
    uow: UnitOfWork,
    customer_id: int,
    now: datetime,
    *,
    hold_only: bool,
    quiet_since: datetime | None = None,
) -> tuple[Reply | None, int | None]:
    """Asks the first question of a round if the moment allows. Returns the question to say
    now (only when not `hold_only`) or the outbox row written for it, if due now."""
    customer = await uow.customers.get(customer_id)
    if (
        customer is None
        or customer.chat_id is None
        or customer.reachability is not Reachability.REACHABLE
        or await _busy(uow, customer_id)
    ):
        return None, None
    held = _held_until(deps, customer, now)
    asking = await _ask(deps, uow, customer, now, first=True, quiet_since=quiet_since)
    if asking is None:
        return None, None
    which, reply = asking
    if held is None and not hold_only:
        return reply, None
    locale = customer_locale(customer, deps.policies.locale.default_locale, deps.renderer.locales)
    message = render_reply(deps.renderer, reply, locale, customer.chat_id)
    row = await uow.outbox.enqueue(
        OutboxMessage(
            key=outbox_key(customer_id, which),
            lane=Lane.SERVICE,
            message=message,
            created_at=now,
            not_before=held or now,
        )
    )
    return None, row if held is None else None


async def invite(deps: Deps, customer: Customer) -> Reply | None:
    """Use case: the natural moment after a rating exchange. Returns the first question to say
    now after the handler's replies, or None (nothing to ask, not now, or held in the outbox
    until the customer's quiet hours end)."""
    if customer.id is None:
        return None
    async with deps.uow() as uow:
        reply, _row = await _open_round(deps, uow, customer.id, deps.clock.now(), hold_only=False)
        await uow.commit()
    return reply


async def ask_after_first_orders(deps: Deps, page: int = 500) -> list[int]:
    """Use case (with each playbook run): asks the customers whose first order was recorded
    within ``first_order_hours`` — one round each: a customer asked anything within those hours
    is not asked again by this moment (the round goes on through their answers). Each question
    goes to the outbox (held through quiet hours). Returns the outbox rows due now."""
    now = deps.clock.now()
    since = now - timedelta(hours=deps.policies.profile.first_order_hours)
    due: list[int] = []
    after = 0
    while True:
        async with deps.uow() as uow:
            candidates = await uow.profile.first_orders_since(since, after, page)
        if not candidates:
            break
        for customer_id in candidates:
            async with deps.uow() as uow:
                _reply, row = await _open_round(
                    deps, uow, customer_id, now, hold_only=True, quiet_since=since
                )
                await uow.commit()
            due.extend([row] if row is not None else [])
        after = candidates[-1]
    if due:
        log.info("profile: %d question(s) after a first order, due now", len(due))
    return due


@dataclass(frozen=True, slots=True)
class Given:
    """What became of an answer: whether it was kept, and the next question (if any)."""

    kept: bool
    value: str | None = None
    """What was kept: the locale, or the zone's canonical IANA name."""
    next: Reply | None = None
    locale: str | None = None
    """The customer's language after the answer (a language answer changes it)."""


async def give(deps: Deps, customer: Customer, which: ProfileField, value: str | None) -> Given:
    """Use case: the customer answered `which` with `value` (a locale, an IANA zone; nothing for
    ``link``, which the linking flow then takes over). Keeps it, records the answer, ends a
    zone being typed, and — except after ``link`` — asks the next missing field."""
    assert customer.id is not None
    now = deps.clock.now()
    locale: str | None = None
    if which is ProfileField.LANGUAGE:
        if value not in deps.renderer.locales:
            return Given(False)
        locale = value
    zone = valid_zone(value or "") if which is ProfileField.TIMEZONE else None
    if which is ProfileField.TIMEZONE and zone is None:
        return Given(False)
    async with deps.uow() as uow:
        if locale is not None:
            customer.language, customer.updated_at = locale, now
            await uow.customers.update(customer)
        if zone is not None:
            await uow.profile.set_timezone(customer.id, zone, now)
            customer.timezone = zone
        await uow.profile.answer(customer.id, which, Answer.GIVEN, now)
        if customer.chat_id is not None:
            await uow.conversations.clear(customer.chat_id)
        following = None
        if which is not ProfileField.LINK:
            following = await _ask(deps, uow, customer, now, first=False, locale=locale)
        await uow.commit()
    return Given(True, locale or zone, following[1] if following else None, locale)


async def not_now(deps: Deps, customer: Customer) -> None:
    """Use case: "Not now". Every field asked and not answered is marked so; the round ends."""
    assert customer.id is not None
    now = deps.clock.now()
    async with deps.uow() as uow:
        for which, ask in (await uow.profile.asked(customer.id)).items():
            if ask.answer is None:
                await uow.profile.answer(customer.id, which, Answer.LATER, now)
        if customer.chat_id is not None:
            await uow.conversations.clear(customer.chat_id)
        await uow.commit()


async def start_typing_zone(deps: Deps, customer: Customer) -> None:
    """Use case: "Type it" — the customer's next text is their time zone."""
    if customer.chat_id is None:
        return
    async with deps.uow() as uow:
        await uow.conversations.save(typing_zone(customer.chat_id, deps.clock.now()))
        await uow.commit()


async def profile_report(
    uow: UnitOfWorkFactory, policy: ProfilePolicy
) -> tuple[Completeness, list[Completeness]]:
    """Use case (``rapport report profile``): the completeness of the active customers, all
    together and by tier."""
    async with uow() as work:
        customers = await work.profile.active_facts(ACTIVE_STAGES)
    return completeness(customers, policy)
