"""Pacing is pure bookkeeping over given times, so it is tested without sleeping."""

from __future__ import annotations

import itertools

from bot.core.pacing import Pacer, PacingLimits


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
