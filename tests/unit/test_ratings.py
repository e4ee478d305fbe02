"""Satisfaction ratings and the after-sales revisit, over the fakes (SPEC §4, §6, §8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.jobs import revisit
from bot.core import rating_prompts as prompts
from bot.core.dispatch import Dispatcher
from bot.core.messages import ChatKind, ContentKind, Sender
from bot.core.models import Reachability
from bot.core.ports import JobRequest
from bot.core.ratings import Rating, RevisitAnswer
from bot.core.reports import complaint_review, satisfaction
from bot.core.roles import Role
from bot.core.services.ratings import schedule
from bot.core.services.staff import enroll
from bot.core.services.tickets import transition
from bot.core.tickets import EventKind, Ticket, TicketState
from bot.flows import rating as flow
from bot.handlers.routes import ROUTING
from tests.fakes import RecordingScheduler
from tests.unit.conftest import ALICE, WANG, FakeBot

STAFF_GROUP = -100500
SUPERVISOR = 7001
SAM = Sender(id=9001, first_name="Sam")
WEEK = 7 * 24 * 3600


@pytest.fixture
async def desk(bot: FakeBot) -> FakeBot:
    bot.configure(staff_chat_id=STAFF_GROUP, supervisor_chat_id=SUPERVISOR)
    async with bot.deps.uow() as uow:
        await enroll(uow, SAM.id, "Sam", Role.SUPERVISOR, bot.clock.now())
        await uow.commit()
    return bot


async def staff_press(bot: FakeBot, data: str) -> None:
    await bot.feed(
        bot.incoming(
            SAM,
            chat_id=STAFF_GROUP,
            chat_kind=ChatKind.SUPERGROUP,
            callback_id="s1",
            callback_data=data,
            content=ContentKind.CALLBACK,
            message_id=55,
        )
    )


async def resolved_ticket(bot: FakeBot, who: Sender = ALICE) -> Ticket:
    """A complaint from `who`, resolved by staff with the card's button."""
    await bot.say(who, "the kettle arrived broken, I want a refund")
    await bot.press(who, "cp:yes")
    await bot.press(who, "cp:skip")
    await bot.press(who, "cp:done")
    ticket = max(bot.uow.store.tickets.values(), key=lambda t: t.id or 0)
    await staff_press(bot, f"tk:{ticket.id}:resolved")
    return bot.uow.store.tickets[ticket.id or 0]


def events(bot: FakeBot, ticket: Ticket) -> list[EventKind]:
    return [e.kind for e in bot.uow.store.events if e.ticket_id == ticket.id]


# --- the rating question ---------------------------------------------------------------------


async def test_a_resolution_is_followed_by_the_rating_question(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    to_alice = [m for m in desk.messenger.sent if m.chat_id == ALICE.id]
    assert [m.template_key for m in to_alice[-2:]] == ["ticket.update.resolved", "rating.question"]
    question = to_alice[-1]
    assert ticket.number in question.text
    [row] = question.buttons
    assert [b.data for b in row] == [f"rate:{ticket.id}:{n}" for n in range(1, 6)]
    assert [b.text for b in row] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]


def test_rating_buttons_fit_telegrams_64_bytes_and_parse_back() -> None:
    big = 9_223_372_036_854_775_807
    assert len(prompts.score_data(big, 5).encode()) <= 64
    assert prompts.parse_rate(prompts.score_data(big, 5)) == (big, 5)
    assert prompts.parse_rate(prompts.skip_data(42)) == (42, None)
    for bad in ("rate:42:6", "rate:42:0", "rate:x:3", "rate:42", "tk:42:3", "rate:42:3:1"):
        assert prompts.parse_rate(bad) is None, bad
    assert prompts.parse_revisit("rv:42:problem") == (42, RevisitAnswer.PROBLEM)
    assert prompts.parse_revisit("rv:42:maybe") is None


async def test_a_five_thanks_then_keeps_the_optional_comment(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(ALICE, f"rate:{ticket.id}:5", message_id=77)
    keys = desk.messenger.template_keys()
    assert keys[-3:] == ["rating.chosen", "rating.thanks", "rating.ask_comment"]
    assert desk.messenger.sent[-3].edit_message_id == 77  # the question loses its buttons
    assert desk.messenger.sent[-1].buttons[0][0].data == f"rate:{ticket.id}:skip"
    assert desk.uow.store.conversations[ALICE.id].flow == flow.FLOW
    await desk.say(ALICE, "Sam was very kind, thank you")
    desk.messenger.assert_sent("rating.comment_thanks")
    stored = desk.uow.store.ratings[ticket.id or 0]
    assert (stored.score, stored.comment, stored.customer_id) == (
        5,
        "Sam was very kind, thank you",
        ticket.customer_id,
    )
    assert ALICE.id not in desk.uow.store.conversations
    assert desk.uow.store.tickets[ticket.id or 0].state is TicketState.RESOLVED
    assert events(desk, ticket)[-2:] == [EventKind.RATED, EventKind.NOTE]
    assert not desk.messenger.sent_with("rating.staff_alert")  # only low ratings alert


async def test_skip_ends_the_comment_step(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(ALICE, f"rate:{ticket.id}:4")
    await desk.press(ALICE, f"rate:{ticket.id}:skip", message_id=78)
    skipped, then = desk.messenger.sent[-2:]
    assert skipped.template_key == "rating.comment_skipped" and skipped.edit_message_id == 78
    assert then.template_key == "profile.ask.language"  # the exchange has ended: a question
    assert ALICE.id not in desk.uow.store.conversations
    assert desk.uow.store.ratings[ticket.id or 0].comment is None


async def test_a_two_reopens_the_ticket_and_alerts_a_supervisor(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(ALICE, f"rate:{ticket.id}:2")
    reopened = desk.uow.store.tickets[ticket.id or 0]
    assert reopened.state is TicketState.INVESTIGATING and reopened.resolved_at is None
    assert events(desk, ticket)[-2:] == [EventKind.RATED, EventKind.REOPENED]
    reopen = [e for e in desk.uow.store.events if e.kind is EventKind.REOPENED][-1]
    assert reopen.actor == f"customer:{ticket.customer_id}"
    assert (reopen.from_state, reopen.to_state) == (
        TicketState.RESOLVED,
        TicketState.INVESTIGATING,
    )
    alerts = desk.messenger.sent_with("rating.staff_alert")
    assert {a.chat_id for a in alerts} == {STAFF_GROUP, SUPERVISOR}
    assert all(ticket.number in a.text and "2/5" in a.text for a in alerts)
    sorry = desk.messenger.assert_sent("rating.sorry_low")
    assert sorry.chat_id == ALICE.id and "reopened" in sorry.text
    await desk.say(ALICE, "nobody called me back")
    comments = desk.messenger.sent_with("rating.staff_comment")
    assert {c.chat_id for c in comments} == {STAFF_GROUP, SUPERVISOR}
    assert "nobody called me back" in comments[0].text


async def test_a_ticket_is_rated_once(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(ALICE, f"rate:{ticket.id}:4")
    await desk.press(ALICE, f"rate:{ticket.id}:1")
    assert desk.messenger.sent[-1].template_key == "rating.already"
    assert desk.uow.store.ratings[ticket.id or 0].score == 4
    assert desk.uow.store.tickets[ticket.id or 0].state is TicketState.RESOLVED
    assert events(desk, ticket).count(EventKind.RATED) == 1


async def test_a_foreign_an_open_or_an_old_ticket_is_refused_courteously(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(WANG, f"rate:{ticket.id}:1")
    refused = desk.messenger.sent[-1]
    assert refused.template_key == "rating.refused" and refused.chat_id == WANG.id
    assert "跟进" in refused.text  # in Wang's language, with a way forward
    await desk.press(ALICE, "rate:999999:5")
    assert desk.messenger.sent[-1].template_key == "rating.refused"
    desk.clock.advance((desk.deps.policies.ratings.window_days + 1) * 24 * 3600)
    await desk.press(ALICE, f"rate:{ticket.id}:5")
    assert desk.messenger.sent[-1].template_key == "rating.refused"
    assert desk.uow.store.ratings == {}


async def test_the_comment_prompt_never_replaces_a_complaint_being_taken_down(
    desk: FakeBot,
) -> None:
    ticket = await resolved_ticket(desk)
    await desk.say(ALICE, "/complaint")
    await desk.press(ALICE, f"rate:{ticket.id}:5")
    assert desk.messenger.template_keys()[-1] == "rating.thanks"
    assert desk.uow.store.conversations[ALICE.id].flow == "complaint"


async def test_a_ticket_rated_before_is_not_asked_again_when_resolved_again(
    desk: FakeBot,
) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(ALICE, f"rate:{ticket.id}:1")
    await staff_press(desk, f"tk:{ticket.id}:resolved")
    assert desk.messenger.template_keys().count("rating.question") == 1


# --- the after-sales revisit ------------------------------------------------------------------


async def test_resolving_plans_the_revisit_and_asks_for_its_job(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    assert ticket.id is not None
    now = desk.clock.now()
    async with desk.deps.uow() as uow:
        await transition(
            uow,
            ticket.id,
            TicketState.INVESTIGATING,
            actor="staff:1",
            now=now,
            policies=desk.deps.policies,
            locales=desk.deps.renderer.locales,
        )
        outcome = await transition(
            uow,
            ticket.id,
            TicketState.RESOLVED,
            actor="staff:1",
            now=now,
            policies=desk.deps.policies,
            locales=desk.deps.renderer.locales,
        )
        await uow.commit()
    due = now + timedelta(days=desk.deps.policies.ratings.revisit_after_days)
    request = JobRequest(
        f"revisit-ticket-{ticket.id}", "bot.app.jobs.revisit:send", due, (ticket.id,)
    )
    assert outcome.jobs == [request]
    assert desk.uow.store.revisits[ticket.id].due_at == due
    scheduler = RecordingScheduler()
    await schedule(replace(desk.deps, scheduler=scheduler), outcome.jobs)
    assert scheduler.jobs == {request.job_id: (request.target, due, (ticket.id,))}
    await schedule(desk.deps, outcome.jobs)  # no scheduler: left to the sweep, no error


async def test_the_revisit_job_sends_once_when_due(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await revisit.send(desk.dispatcher, ticket.id or 0)
    assert not desk.messenger.sent_with("revisit.question")  # not due yet
    desk.clock.advance(WEEK)
    await revisit.send(desk.dispatcher, ticket.id or 0)
    await revisit.send(desk.dispatcher, ticket.id or 0)  # a second run does nothing
    await revisit.sweep(desk.dispatcher)
    [question] = desk.messenger.sent_with("revisit.question")
    assert question.chat_id == ALICE.id and ticket.number in question.text
    assert [b.data for b in question.buttons[0]] == [
        f"rv:{ticket.id}:ok",
        f"rv:{ticket.id}:problem",
    ]
    assert events(desk, ticket).count(EventKind.REVISIT) == 1


async def test_the_sweep_sends_a_revisit_whose_job_never_ran(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    desk.clock.advance(WEEK + 60)
    await revisit.sweep(desk.dispatcher)
    await revisit.sweep(desk.dispatcher)
    assert len(desk.messenger.sent_with("revisit.question")) == 1
    assert desk.uow.store.revisits[ticket.id or 0].sent_at is not None


async def test_the_revisit_skips_a_reopened_ticket(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    await desk.press(ALICE, f"rate:{ticket.id}:1")  # reopens it
    desk.clock.advance(WEEK)
    await revisit.send(desk.dispatcher, ticket.id or 0)
    assert not desk.messenger.sent_with("revisit.question")
    assert desk.uow.store.revisits[ticket.id or 0].skipped == "reopened"


async def test_the_revisit_skips_a_customer_who_blocked_the_bot(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    customer = desk.uow.store.customers[ticket.customer_id]
    desk.uow.store.customers[ticket.customer_id] = replace(
        customer, reachability=Reachability.BLOCKED
    )
    desk.clock.advance(WEEK)
    await revisit.send(desk.dispatcher, ticket.id or 0)
    assert not desk.messenger.sent_with("revisit.question")
    assert desk.uow.store.revisits[ticket.id or 0].skipped == "unreachable"


async def test_still_a_problem_reopens_and_tells_staff(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    desk.clock.advance(WEEK)
    await revisit.send(desk.dispatcher, ticket.id or 0)
    await desk.press(ALICE, f"rv:{ticket.id}:problem", message_id=90)
    assert desk.messenger.template_keys()[-4:-2] == ["revisit.chosen", "revisit.reopened"]
    assert desk.uow.store.tickets[ticket.id or 0].state is TicketState.INVESTIGATING
    alerts = desk.messenger.sent_with("revisit.staff_problem")
    assert {a.chat_id for a in alerts} == {STAFF_GROUP, SUPERVISOR}
    await desk.press(ALICE, f"rv:{ticket.id}:ok")
    assert desk.messenger.sent[-1].template_key == "revisit.already"
    assert desk.uow.store.revisits[ticket.id or 0].answer is RevisitAnswer.PROBLEM


async def test_all_good_is_thanked_and_kept(desk: FakeBot) -> None:
    ticket = await resolved_ticket(desk)
    desk.clock.advance(WEEK)
    await revisit.send(desk.dispatcher, ticket.id or 0)
    await desk.press(ALICE, f"rv:{ticket.id}:ok")
    assert desk.messenger.sent[-1].template_key == "revisit.thanks"
    assert desk.uow.store.tickets[ticket.id or 0].state is TicketState.RESOLVED
    await desk.press(WANG, f"rv:{ticket.id}:problem")
    assert desk.messenger.sent[-1].template_key == "rating.refused"


async def test_runtime_jobs_see_the_scheduler_in_deps(desk: FakeBot) -> None:
    """What `start_bot` does: the dispatcher's Deps carries the scheduler."""
    scheduler = RecordingScheduler()
    dispatcher = Dispatcher(replace(desk.deps, scheduler=scheduler), ROUTING)
    assert dispatcher.deps.scheduler is scheduler


# --- the monthly review -------------------------------------------------------------------------


def test_the_review_reports_satisfaction() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    ratings = [Rating(n, 1, score, at) for n, score in enumerate([5, 4, 4, 2, 1], start=1)]
    figures = satisfaction(ratings, low_at_most=2)
    assert (figures.ratings, figures.high, figures.low) == (5, 3, 2)
    assert figures.average == pytest.approx(3.2) and figures.high_share == pytest.approx(0.6)
    review = complaint_review([], "2026-11", at, ratings=ratings)
    rows = dict(review.rows())
    assert rows["satisfaction: ratings"] == "5"
    assert rows["satisfaction: average score"] == "3.20"
    assert rows["satisfaction: rated 4–5"] == "60% (3/5)"
    assert rows["satisfaction: rated low (reopened)"] == "2"
    empty = dict(complaint_review([], "2026-11", at).rows())
    assert empty["satisfaction: average score"] == "—"
