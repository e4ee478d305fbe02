"""The outbox over fakes: a key is queued once, a row is sent by one sender only, and each
answer Telegram can give leaves the row in the state the next engineer expects."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.app.jobs import revisit, sla
from bot.core.delivery import Delivery
from bot.core.errors import (
    BadRequest,
    ChatBlocked,
    ChatGone,
    DeliveryError,
    RateLimited,
    TransientError,
)
from bot.core.messages import Outgoing, Reply, Sent
from bot.core.models import Customer, Reachability
from bot.core.outbox import (
    Lane,
    OutboxMessage,
    OutboxPolicy,
    OutboxSender,
    OutboxState,
    SendWindow,
    enqueue,
    enqueue_rendered,
    release_own,
    send_now,
)
from bot.core.services.ratings import run_revisit
from tests.fakes import RecordingMessenger, _Outbox
from tests.unit.conftest import ALICE, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain, desk  # noqa: F401
from tests.unit.test_ratings import WEEK, resolved_ticket

POLICY = OutboxPolicy(
    batch_size=50,
    poll_seconds=0.01,
    max_attempts=3,
    backoff_initial_seconds=2.0,
    backoff_max_seconds=60.0,
    claim_timeout_seconds=120.0,
)


class YieldingMessenger(RecordingMessenger):
    """Lets other tasks run at every send, as a real HTTP call does."""

    async def send(self, message: Outgoing) -> Sent:
        await asyncio.sleep(0)
        return await super().send(message)


def with_messenger(bot: FakeBot, messenger: RecordingMessenger) -> None:
    bot.messenger = messenger
    bot.deps = replace(bot.deps, messenger=messenger)


def sender(bot: FakeBot, worker: str = "w:1", delivery: Delivery | None = None) -> OutboxSender:
    return OutboxSender(bot.deps, delivery or Delivery(bot.deps), POLICY, worker)


async def queue(bot: FakeBot, key: str, chat_id: int = ALICE.id) -> int | None:
    async with bot.deps.uow() as uow:
        row = await enqueue(
            uow,
            bot.deps,
            Reply("staff.chat_unreachable", {"chat": 1, "problem": "blocked"}, chat_id=chat_id),
            key=key,
            lane=Lane.SERVICE,
            locale="en",
            now=bot.clock.now(),
        )
        await uow.commit()
    return row


def rows(bot: FakeBot) -> list[OutboxMessage]:
    """The rows these tests queued (not the bot's answers, which go through the outbox too)."""
    return [r for r in bot.uow.store.outbox.values() if not r.key.startswith("update:")]


async def test_a_key_is_queued_once(bot: FakeBot) -> None:
    first = await queue(bot, "sla:1:warn_first_response:7")
    assert first is not None
    assert await queue(bot, "sla:1:warn_first_response:7") is None
    assert await queue(bot, "sla:1:warn_first_response:8") is not None
    assert len(rows(bot)) == 2
    [row] = [r for r in rows(bot) if r.id == first]
    assert row.state is OutboxState.PENDING and row.message.chat_id == ALICE.id
    assert row.message.template_key == "staff.chat_unreachable" and "<" not in row.key


async def test_an_uncommitted_enqueue_leaves_nothing(bot: FakeBot) -> None:
    async with bot.deps.uow() as uow:
        reply = Reply("staff.chat_unreachable", {"chat": 1, "problem": "blocked"}, chat_id=5)
        await enqueue(
            uow, bot.deps, reply, key="k", lane=Lane.SERVICE, locale="en", now=bot.clock.now()
        )
    assert rows(bot) == []


async def test_two_units_of_work_that_both_saw_a_row_pending_claim_it_once(bot: FakeBot) -> None:
    row = await queue(bot, "k")
    assert row is not None
    now = bot.clock.now()
    async with bot.deps.uow() as one, bot.deps.uow() as two:
        assert [r.id for r in await one.outbox.due(now, now, 10)] == [row]
        assert [r.id for r in await two.outbox.due(now, now, 10)] == [row]
        assert await one.outbox.claim(row, "a", now, None)
        await one.commit()
        assert not await two.outbox.claim(row, "b", now, None)


async def test_two_senders_draining_at_once_send_each_row_once(bot: FakeBot) -> None:
    with_messenger(bot, YieldingMessenger())
    for n in range(40):
        await queue(bot, f"k{n}", chat_id=1000 + n)
    one, two = sender(bot, "a:1"), sender(bot, "b:2")
    await asyncio.gather(one.drain_once(), two.drain_once(), one.drain_once())
    assert sorted(m.chat_id for m in bot.messenger.sent) == list(range(1000, 1040))
    assert {r.state for r in rows(bot)} == {OutboxState.SENT}
    logged = [m for m in bot.uow.store.messages if m.template_key == "staff.chat_unreachable"]
    assert len(logged) == 40  # logged with the sent mark, once each


async def test_service_rows_go_before_proactive_ones(bot: FakeBot) -> None:
    async with bot.deps.uow() as uow:
        for lane, key in ((Lane.PROACTIVE, "gone"), (Lane.SERVICE, "refused")):
            reply = Reply("staff.chat_unreachable", {"chat": 1, "problem": key}, chat_id=9)
            await enqueue(
                uow, bot.deps, reply, key=key, lane=lane, locale="en", now=bot.clock.now()
            )
        await uow.commit()
    await sender(bot).drain_once()
    order = [
        next(r.key for r in rows(bot) if r.telegram_message_id == i)
        for i in sorted(r.telegram_message_id or 0 for r in rows(bot))
    ]
    assert order == ["refused", "gone"]  # queued second, sent first


@pytest.mark.parametrize(
    ("error", "state", "reason"),
    [
        (ChatBlocked("Forbidden: bot was blocked by the user"), OutboxState.SKIPPED, "blocked"),
        (ChatGone("Bad Request: chat not found"), OutboxState.SKIPPED, "chat not found"),
        (BadRequest("Bad Request: can't parse entities"), OutboxState.FAILED, "can't parse"),
        (TransientError("Bad Gateway"), OutboxState.PENDING, "Bad Gateway"),
    ],
    ids=["403", "chat-not-found", "400", "5xx"],
)
async def test_each_answer_leaves_the_row_in_its_state(
    bot: FakeBot, error: DeliveryError, state: OutboxState, reason: str
) -> None:
    await bot.say(ALICE, "hello")  # Alice is a customer
    await queue(bot, "k")
    bot.messenger.fail_with = [error]
    start = bot.clock.now()
    await sender(bot).drain_once()
    [row] = rows(bot)
    assert row.state is state and reason in (row.last_error or "")
    assert not bot.messenger.sent_with("staff.chat_unreachable")
    customer = await _alice(bot)
    blocked = isinstance(error, ChatBlocked | ChatGone)
    assert (customer.reachability is not Reachability.REACHABLE) is blocked
    if state is OutboxState.PENDING:
        assert row.attempts == 1 and row.claimed_by is None
        assert row.not_before == bot.clock.now() + timedelta(seconds=2) and row.not_before > start
        await sender(bot).drain_once()  # not due yet: nothing is sent
        assert not bot.messenger.sent_with("staff.chat_unreachable")
        bot.clock.advance(2)
        await sender(bot).drain_once()
        assert rows(bot)[0].state is OutboxState.SENT
        assert len(bot.messenger.sent_with("staff.chat_unreachable")) == 1


async def _alice(bot: FakeBot) -> Customer:
    async with bot.deps.uow() as uow:
        customer = await uow.customers.get_by_chat_id(ALICE.id)
    assert customer is not None
    return customer


async def test_5xx_until_max_attempts_fails_the_row(bot: FakeBot) -> None:
    await queue(bot, "k")
    for attempt in range(1, POLICY.max_attempts + 1):
        bot.messenger.fail_with = [TransientError("Service Unavailable")]
        assert await sender(bot).drain_once() == 1
        [row] = rows(bot)
        assert row.attempts == attempt
        bot.clock.advance(POLICY.backoff_max_seconds)
    assert row.state is OutboxState.FAILED and row.last_error == "Service Unavailable"
    assert await sender(bot).drain_once() == 0
    assert not bot.messenger.sent_with("staff.chat_unreachable")


async def test_a_429_pauses_and_the_same_row_is_sent_once(bot: FakeBot) -> None:
    await queue(bot, "k")
    bot.messenger.fail_with = [RateLimited(7)]
    await sender(bot).drain_once()
    [row] = rows(bot)
    assert row.state is OutboxState.SENT and row.attempts == 0
    assert len(bot.messenger.sent_with("staff.chat_unreachable")) == 1
    assert sum(bot.clock.slept) >= 7


async def test_a_row_left_sending_by_a_dead_sender_is_sent_after_the_timeout(bot: FakeBot) -> None:
    row = await queue(bot, "k")
    assert row is not None
    async with bot.deps.uow() as uow:  # a sender claims it and dies before sending
        assert await uow.outbox.claim(row, "dead:1", bot.clock.now(), None)
        await uow.commit()
    bot.clock.advance(POLICY.claim_timeout_seconds - 1)
    assert await sender(bot).drain_once() == 0
    bot.clock.advance(2)
    assert await sender(bot).drain_once() == 1
    [stored] = rows(bot)
    assert stored.state is OutboxState.SENT and stored.claimed_by == "w:1"
    assert len(bot.messenger.sent_with("staff.chat_unreachable")) == 1


async def test_the_run_loop_sends_what_is_queued_and_stops(bot: FakeBot) -> None:
    running = sender(bot)
    task = asyncio.create_task(running.run())
    await queue(bot, "k")
    running.wake()
    for _ in range(100):
        if bot.messenger.sent:
            break
        await asyncio.sleep(0.01)
    running.stop()
    await asyncio.wait_for(task, 1)
    assert len(bot.messenger.sent_with("staff.chat_unreachable")) == 1


async def test_a_revisit_is_queued_with_its_claim_and_sent_once(desk: FakeBot) -> None:  # noqa: F811
    bot = desk
    ticket = await resolved_ticket(bot)
    bot.clock.advance(WEEK)
    queued = await run_revisit(bot.deps, ticket.id or 0)  # the job's commit, then a "crash"
    assert len(queued) == 1 and await run_revisit(bot.deps, ticket.id or 0) == []
    [row] = rows(bot)
    assert row.key == f"revisit:{ticket.id}" and row.lane is Lane.PROACTIVE
    assert not bot.messenger.sent_with("revisit.question")  # nothing sent yet…
    await revisit.sweep(bot.dispatcher)  # …a rerun of the job queues nothing more…
    await sender(bot).drain_once()  # …and a sender delivers the one row
    [question] = bot.messenger.sent_with("revisit.question")
    assert question.chat_id == ALICE.id and ticket.number in question.text
    assert rows(bot)[0].state is OutboxState.SENT


async def test_sla_notices_are_queued_with_the_warning_and_sent_once(desk: FakeBot) -> None:  # noqa: F811
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    desk.clock.advance(96 * 60)  # 80 % of two hours
    await sla.sweep(desk.dispatcher)
    await sla.sweep(desk.dispatcher)
    await sender(desk).drain_once()
    [row] = [r for r in rows(desk) if r.message.template_key == "staff.sla_warning"]
    [ticket] = desk.uow.store.tickets.values()
    assert row.key == f"sla:{ticket.id}:warn_first_response:{STAFF_GROUP}"
    assert row.state is OutboxState.SENT and row.lane is Lane.SERVICE
    [warning] = desk.messenger.sent_with("staff.sla_warning")
    assert warning.chat_id == STAFF_GROUP


async def test_send_now_claims_the_due_pending_rows_in_one_update(
    bot: FakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    due, later, done = [await queue(bot, key) for key in ("a", "b", "c")]
    assert due is not None and later is not None and done is not None
    store = bot.uow.store.outbox
    store[later].not_before = bot.clock.now() + timedelta(minutes=5)
    store[done].state = OutboxState.SENT
    claims: list[list[int]] = []
    claim_many = _Outbox.claim_many

    async def counted(self: _Outbox, ids: Sequence[int], *args: Any) -> list[int]:
        claims.append(list(ids))
        return await claim_many(self, ids, *args)

    monkeypatch.setattr(_Outbox, "claim_many", counted)
    assert await send_now(bot.deps, Delivery(bot.deps), [due, later, done, due], "w:1") == 1
    assert claims == [[due]]  # one conditional update, of the rows still pending and due
    assert (store[due].state, store[later].state) == (OutboxState.SENT, OutboxState.PENDING)
    assert len(bot.messenger.texts(ALICE.id)) == 1


class HeldMessenger(RecordingMessenger):
    """Holds every send until `release` is set, counting the sends begun."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.begun: list[int] = []

    async def send(self, message: Outgoing) -> Sent:
        self.begun.append(message.chat_id)
        await self.release.wait()
        return await super().send(message)


async def queue_many(bot: FakeBot, count: int, lane: Lane = Lane.PROACTIVE) -> None:
    async with bot.deps.uow() as uow:
        for i in range(count):
            message = Outgoing(chat_id=1000 + i, text=f"news {i}", template_key="news")
            await enqueue_rendered(uow, message, key=f"n:{i}", lane=lane, now=bot.clock.now())
        await uow.commit()


async def settle(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the sender never got there")


async def held_sender(
    bot: FakeBot, count: int
) -> tuple[HeldMessenger, OutboxSender, asyncio.Task[None]]:
    """`count` proactive rows queued and a running sender (batch 2) whose sends are held."""
    held = HeldMessenger()
    with_messenger(bot, held)
    await queue_many(bot, count)
    running = OutboxSender(bot.deps, Delivery(bot.deps), replace(POLICY, batch_size=2), "w:1")
    return held, running, asyncio.create_task(running.run())


async def test_the_sender_claims_a_batch_ahead_but_sends_at_most_a_batch_at_once(
    bot: FakeBot,
) -> None:
    held, running, task = await held_sender(bot, 7)
    await settle(lambda: len(held.begun) == 2)
    await settle(lambda: sum(r.state is OutboxState.SENDING for r in rows(bot)) == 4)
    assert len(held.begun) == 2  # the two claimed ahead wait for the window
    held.release.set()
    await settle(lambda: all(r.state is OutboxState.SENT for r in rows(bot)))
    running.stop()
    await asyncio.wait_for(task, 1)
    assert sorted(m.chat_id for m in held.sent) == [1000 + i for i in range(7)]


async def test_rows_claimed_ahead_are_not_sent_after_a_stop_and_go_back(bot: FakeBot) -> None:
    held, running, task = await held_sender(bot, 4)
    await settle(lambda: sum(r.state is OutboxState.SENDING for r in rows(bot)) == 4)
    running.stop()
    held.release.set()
    await asyncio.wait_for(task, 1)
    assert len(held.sent) == 2
    assert await release_own(bot.deps, "w:1") == 2
    assert sorted(r.state.value for r in rows(bot)) == ["pending", "pending", "sent", "sent"]


async def test_the_window_gives_a_freed_place_to_service_rows_first() -> None:
    window = SendWindow(1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(name: str, urgent: bool) -> None:
        async with window.place(urgent=urgent):
            order.append(name)
            await release.wait()

    first = asyncio.create_task(hold("first", urgent=False))
    await asyncio.sleep(0)
    waiting = [
        asyncio.create_task(hold("proactive", urgent=False)),
        asyncio.create_task(hold("cancelled", urgent=True)),
        asyncio.create_task(hold("service", urgent=True)),
    ]
    await asyncio.sleep(0)
    waiting[1].cancel()
    release.set()
    await asyncio.gather(first, *waiting, return_exceptions=True)
    assert order == ["first", "service", "proactive"]
    async with window.place(urgent=False):  # the cancelled wait kept no place
        pass


async def test_a_live_sender_renews_its_claims_so_a_long_wait_is_not_taken_for_death(
    bot: FakeBot,
) -> None:
    """Telegram holds the sends for longer than the claim timeout (a long 429 pause): the
    sender holding the rows claims them again as time passes, so another sender finds
    nothing stale to take, and each message goes once."""
    held, running, task = await held_sender(bot, 3)
    await settle(lambda: sum(r.state is OutboxState.SENDING for r in rows(bot)) == 3)
    for _ in range(4):  # well past the timeout, a third of it at a time
        bot.clock.advance(POLICY.claim_timeout_seconds / 3 + 1)
        renewed = bot.clock.now()
        await settle(lambda: all(r.claimed_at == renewed for r in rows(bot)))  # noqa: B023
    bot.clock.advance(POLICY.claim_timeout_seconds / 3 - 1)
    assert await sender(bot, worker="w:2").drain_once() == 0
    held.release.set()
    await settle(lambda: all(r.state is OutboxState.SENT for r in rows(bot)))
    running.stop()
    await asyncio.wait_for(task, 1)
    assert sorted(m.chat_id for m in held.sent) == [1000, 1001, 1002]
