"""Pacing is pure bookkeeping over given times, so it is tested without sleeping; delivery,
which does the waiting, is tested on a virtual clock shared with the emulator's flood control."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.delivery import Delivery
from bot.core.deps import Deps
from bot.core.errors import RateLimited
from bot.core.locks import ChatLocks
from bot.core.messages import Outgoing, Sent
from bot.core.pacing import Pacer, PacingLimits
from sandbox import VirtualClock
from sandbox.limits import FloodControl, FloodLimits
from tests.fakes import FixedFaq, MemoryUnitOfWorkFactory, RecordingMessenger
from tests.unit.conftest import language, triage


def send_times(pacer: Pacer, chat_id: int, count: int, start: float = 1000.0) -> list[float]:
    """When `count` messages to `chat_id` go out if each waits exactly as long as told."""
    now, times = start, []
    for _ in range(count):
        now += pacer.delay(chat_id, now)
        pacer.record(chat_id, now)
        times.append(now)
    return times


def test_a_private_chat_gets_a_burst_then_one_per_second() -> None:
    times = send_times(Pacer(PacingLimits(margin_seconds=0.0)), 42, 6)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    assert gaps == [0.0, 0.0, 1.0, 1.0, 1.0]


def test_the_margin_keeps_a_little_time_in_hand() -> None:
    times = send_times(Pacer(PacingLimits(margin_seconds=0.05)), 42, 5)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    # The third message waits until 1.05 tokens are free, and every later one keeps that
    # 0.05 s in hand: Telegram sees each request with room to spare for jitter.
    assert gaps == [0.0, 0.05, 1.0, 1.0]


def test_a_group_gets_twenty_per_minute() -> None:
    times = send_times(Pacer(PacingLimits(margin_seconds=0.0)), -100123, 25)
    assert times[19] == times[0]  # the first 20 at once
    assert round(times[20] - times[19], 6) == 3.0  # then one every 3 s


def test_all_chats_share_thirty_per_second() -> None:
    pacer = Pacer(PacingLimits(margin_seconds=0.0))
    now = 0.0
    for chat in range(30):
        assert pacer.delay(chat, now) == 0.0
        pacer.record(chat, now)
    assert round(pacer.delay(999, now), 6) == round(1 / 30, 6)


def test_a_429_pauses_every_chat() -> None:
    pacer = Pacer()
    pacer.pause(5.0, now=10.0)
    assert pacer.delay(1, 10.0) == 5.0 and pacer.delay(2, 12.0) == 3.0
    assert pacer.delay(3, 15.0) == 0.0


def test_idle_chats_are_forgotten_so_memory_stays_flat() -> None:
    pacer = Pacer(max_tracked_chats=100)
    for chat in range(10_000):
        pacer.record(chat, now=float(chat))  # each chat refills long before the next tick
    assert len(pacer) <= 101


# --- Delivery under a burst: many messages waiting at once, on a virtual clock ----------------
#
# The messenger below refuses what the emulator's own flood control would refuse, on the same
# virtual clock the delivery sleeps on: a second passes at once, and a delivery that waits too
# little is answered with 429 just as Telegram would.

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class TelegramLike(RecordingMessenger):
    """Records sends, refusing with a 429 any that Telegram's flood control would refuse
    (the emulator's own token buckets, on the same virtual time)."""

    def __init__(self, clock: VirtualClock, limits: FloodLimits) -> None:
        super().__init__()
        self.flood = FloodControl(limits, clock=clock.monotonic)
        self.at: list[float] = []
        self.clock = clock
        self.refused = 0

    async def send(self, message: Outgoing) -> Sent:
        retry_after = self.flood.admit(message.chat_id, is_group=message.chat_id < 0)
        if retry_after:
            self.refused += 1
            raise RateLimited(retry_after)
        self.at.append(self.clock.elapsed())
        return await super().send(message)


def burst_delivery(clock: VirtualClock, **settings: Any) -> tuple[Delivery, TelegramLike]:
    limits = FloodLimits(global_rate=settings.get("global_messages_per_second", 30.0))
    messenger = TelegramLike(clock, limits)
    deps = Deps(
        policies=policies(Settings(**settings)),
        uow=MemoryUnitOfWorkFactory(),
        renderer=language(),
        faq=FixedFaq(),
        triage=triage(),
        clock=clock,
        messenger=messenger,
    )
    return Delivery(deps), messenger


async def test_a_burst_keeps_order_per_chat_wakes_each_waiter_rarely_and_starves_nobody() -> None:
    # 10 busy chats (an agent's inbox each) with 10 messages queued for each, and a bot-wide
    # limit of 5/s that binds before the chats' own 1/s does.
    chats, per_chat = 10, 10
    late_chat, late_sent_at = 777, []
    async with VirtualClock(START) as clock:
        delivery, messenger = burst_delivery(clock, global_messages_per_second=5.0)

        async def one(chat_id: int, n: int) -> None:
            await delivery.send(Outgoing(chat_id=chat_id, text=f"{chat_id}:{n}"))

        async def late() -> None:  # an agent's answer to a customer, arriving mid-burst
            await clock.sleep(5.0)
            asked = clock.elapsed()
            await delivery.send(Outgoing(chat_id=late_chat, text="late"))
            late_sent_at.append(clock.elapsed() - asked)

        await asyncio.gather(
            *(one(c, n) for n in range(per_chat) for c in range(1, chats + 1)), late()
        )
    assert messenger.refused == 0
    assert len(messenger.sent) == chats * per_chat + 1
    # The limit was kept by waiting, not by luck: 101 messages at 5/s take 20 virtual seconds.
    assert messenger.at[-1] >= (chats * per_chat + 1 - 5) / 5.0
    for chat in range(1, chats + 1):  # each chat's messages go out in the order they came
        assert messenger.texts(chat) == [f"{chat}:{n}" for n in range(per_chat)]
    # The late message waits behind at most one message per busy chat (10 at 5/s), not
    # behind everything still queued.
    assert late_sent_at[0] <= (chats + 1) / 5.0 + 0.5
    # Every waiter wakes about once per turn it waits for, not once per message sent.
    assert clock.sleeps <= 3 * len(messenger.sent)


async def test_a_delivery_that_waits_too_little_is_refused_on_the_same_clock() -> None:
    """The virtual clock cannot hide broken pacing: with the bot's pacing switched off
    (Telegram's limits set a hundred times looser on the bot's side only), Telegram's flood
    control on the shared clock refuses the burst, and every refusal costs a bot-wide pause."""
    async with VirtualClock(START) as clock:
        delivery, messenger = burst_delivery(clock, chat_messages_per_second=100.0, chat_burst=100)
        await asyncio.gather(*(delivery.send(Outgoing(chat_id=42, text=str(n))) for n in range(6)))
    assert messenger.refused > 0
    assert sorted(messenger.texts(42)) == [str(n) for n in range(6)]  # all retried, none lost


async def test_a_virtual_clock_moves_only_as_far_as_the_earliest_sleeper() -> None:
    woke: list[tuple[str, float]] = []
    async with VirtualClock(START) as clock:

        async def nap(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append((name, clock.elapsed()))

        await asyncio.gather(nap("long", 3600.0), nap("short", 1.5), nap("same", 1.5))
    assert woke == [("short", 1.5), ("same", 1.5), ("long", 3600.0)]
    assert clock.now() == START + timedelta(hours=1)
    assert clock.jumps == 2


async def test_turns_are_forgotten_once_nobody_waits() -> None:
    turns, order = ChatLocks(), []

    async def take(chat_id: int, n: int) -> None:
        async with turns.hold(chat_id):
            await asyncio.sleep(0)
            order.append((chat_id, n))

    await asyncio.gather(*(take(c, n) for n in range(5) for c in range(100)))
    assert len(turns) == 0
    assert [n for c, n in order if c == 7] == [0, 1, 2, 3, 4]
