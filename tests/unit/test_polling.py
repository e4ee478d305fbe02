"""The shared long-poll loop (:mod:`bot.adapters.polling`) with a fake Telegram and a fake
inbox: the offset moves past a batch only after the batch is recorded; a database that
refuses delays the batch and never drops it; the inbox is re-driven oldest first before
polling; a stop awaits the updates in flight, within its grace period."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot.adapters.connection import PollingPolicy
from bot.adapters.polling import Poller, chat_of
from bot.core.ports import InboundUpdate

FAST = PollingPolicy(retry_initial_seconds=0.001, retry_max_seconds=0.004, stop_grace_seconds=1)


def update(update_id: int, chat: int = 7) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"chat": {"id": chat}, "text": "hi"}}


class Telegram:
    """Serves queued batches; forgets updates below each offset it is asked for."""

    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = list(batches)
        self.offsets: list[int | None] = []
        self.confirmed = 0

    async def fetch(self, offset: int | None) -> Sequence[dict[str, Any]]:
        self.offsets.append(offset)
        if offset is not None:
            self.confirmed = max(self.confirmed, offset - 1)
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(0.01)
        return []


class Inbox:
    def __init__(self, failures: int = 0, waiting: Sequence[dict[str, Any]] = ()) -> None:
        self.failures = failures
        self.stored: dict[int, Mapping[str, Any]] = {u["update_id"]: u for u in waiting}
        self.recorded: set[int] = set(self.stored)  # ever accepted (handled ones included)
        self.attempts = 0
        self.closed = False
        self.resumed = False
        self.telegram: Telegram | None = None

    async def accept(self, updates: Sequence[InboundUpdate]) -> list[int]:
        self.attempts += 1
        if self.telegram is not None:  # nothing is confirmed before it is stored
            assert all(u.update_id > self.telegram.confirmed for u in updates)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        new = [u.update_id for u in updates if u.update_id not in self.recorded]
        self.stored.update({u.update_id: u.payload for u in updates if u.update_id in new})
        self.recorded.update(new)
        return new

    async def waiting(self, after_update_id: int = 0, limit: int = 100) -> list[InboundUpdate]:
        ids = sorted(i for i in self.stored if i > after_update_id)[:limit]
        return [InboundUpdate(i, chat_of(self.stored[i]), self.stored[i]) for i in ids]

    def close(self) -> None:
        self.closed = True

    async def resume(self) -> None:
        self.resumed = True


def poller(
    telegram: Telegram,
    inbox: Inbox,
    fed: list[int],
    delay: float = 0.0,
    policy: PollingPolicy = FAST,
    feed: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> Poller[dict[str, Any]]:
    """The loop over `telegram` and `inbox`; by default each update fed is handled (dropped
    from the inbox, as the dispatcher does) after `delay`."""

    async def handle(item: dict[str, Any]) -> None:
        await asyncio.sleep(delay)
        fed.append(item["update_id"])
        inbox.stored.pop(item["update_id"], None)  # handled: the dispatcher drops it

    return Poller(
        name="test",
        dispatcher=inbox,
        policy=policy,
        fetch=telegram.fetch,
        to_json=dict,
        from_json=dict,
        feed=feed or handle,
    )


async def until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def test_a_batch_is_confirmed_only_after_it_is_recorded_despite_a_busy_database() -> None:
    telegram = Telegram([update(1), update(2)], [update(3)])
    inbox = Inbox(failures=3)
    inbox.telegram = telegram
    fed: list[int] = []
    loop = poller(telegram, inbox, fed)
    loop.start()
    await until(lambda: fed == [1, 2, 3])
    await loop.stop()
    assert inbox.attempts == 5  # three refusals, then each batch once
    assert telegram.offsets[:3] == [None, 3, 4]  # the offset waited for the retries
    assert inbox.recorded == {1, 2, 3} and not inbox.stored  # recorded, then handled


async def test_the_inbox_is_redriven_oldest_first_before_polling_and_never_twice() -> None:
    telegram = Telegram([update(5), update(6), update(7)])  # 5 and 6 come again
    inbox = Inbox(waiting=[update(6, chat=8), update(5)])
    fed: list[int] = []
    loop = poller(telegram, inbox, fed, policy=FAST)
    loop.start()
    await until(lambda: len(fed) == 3)
    await asyncio.sleep(0.05)
    await loop.stop()
    assert fed == [5, 6, 7]


async def test_a_stop_awaits_updates_in_flight() -> None:
    telegram = Telegram([update(1), update(2, chat=9)])
    fed: list[int] = []
    inbox = Inbox()
    loop = poller(telegram, inbox, fed, delay=0.2)
    loop.start()
    await until(lambda: loop.in_flight == 2)
    await loop.stop()
    assert sorted(fed) == [1, 2] and inbox.closed


async def test_a_stop_leaves_what_outlasts_the_grace_period() -> None:
    telegram = Telegram([update(1)])
    fed: list[int] = []
    quick = PollingPolicy(retry_initial_seconds=0.001, stop_grace_seconds=0.05)
    loop = poller(telegram, Inbox(), fed, delay=5.0, policy=quick)
    loop.start()
    await until(lambda: loop.in_flight == 1)
    await asyncio.wait_for(loop.stop(), 1.0)
    assert fed == [] and loop.in_flight == 0
