"""Our own long-poll loop, shared by both adapters: accept, then confirm, then handle.

Telegram forgets every update below the next ``getUpdates`` offset, and both frameworks' own
polling asks for the next offset as soon as a batch arrives, handling it from memory — so a
crash loses the batch. :class:`Poller` keeps the framework first-class (it calls the
framework's own ``get_updates`` and feeds each update to the framework's own dispatch, whose
routing calls the core) but puts one step in between:

1. fetch a batch with the framework's ``get_updates(offset=…)``;
2. record it in the core's inbox (:meth:`bot.core.dispatch.Dispatcher.accept`, one
   transaction); if the database is busy or down, wait and retry with back-off — the offset
   does not move, so nothing is confirmed that is not stored;
3. only then move the offset past the batch (the next fetch confirms it) and feed the new
   updates to the framework, each in a task of its own. The core's dispatcher serialises a
   chat's updates in the order their tasks start, which is the order of the update ids.

At start the poller first feeds what the inbox still holds (accepted before a crash or a stop,
never handled), oldest first, then polls. :meth:`Poller.stop` stops fetching, lets the
updates already being handled finish (for at most ``stop_grace_seconds``) and begins no
others: they stay in the inbox and are handled at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from bot.adapters.connection import PollingPolicy
from bot.core.ports import InboundUpdate

log = logging.getLogger(__name__)

U = TypeVar("U")
T = TypeVar("T")


class Intake(Protocol):
    """What the loop needs of the core (:class:`bot.core.dispatch.Dispatcher` provides it)."""

    async def resume(self) -> None:
        """Finishes what an earlier run left half-done, before any update is handled."""
        ...

    async def accept(self, updates: Sequence[InboundUpdate]) -> list[int]: ...

    async def waiting(self, after_update_id: int = 0, limit: int = 100) -> list[InboundUpdate]: ...

    def close(self) -> None:
        """Begin no more updates; those already begun run to the end."""
        ...


def chat_of(payload: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (Bot API JSON), None for kinds without one."""
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        chat = (payload.get(kind) or {}).get("chat")
        if chat and "id" in chat:
            return int(chat["id"])
    query = payload.get("callback_query")
    if query:
        chat = (query.get("message") or {}).get("chat") or {}
        if "id" in chat:
            return int(chat["id"])
        sender = query.get("from") or {}
        return int(sender["id"]) if "id" in sender else None
    return None


class Feeder(Generic[U]):
    """What every update source shares (the long-poll loop here, the webhook receiver in
    :mod:`bot.adapters.webhook`): re-drive the inbox, record with retries, feed each new update
    to the framework in a task of its own under back-pressure, and drain on stop.

    `from_json` turns a stored update (Bot API JSON) into the framework's object; `feed` hands
    one update to the framework's own dispatch. `name` only labels the logs."""

    def __init__(
        self,
        *,
        name: str,
        dispatcher: Intake,
        policy: PollingPolicy,
        from_json: Callable[[Mapping[str, Any]], U],
        feed: Callable[[U], Awaitable[object]],
    ) -> None:
        self.name = name
        self.dispatcher = dispatcher
        self.policy = policy
        self.from_json = from_json
        self._feed = feed
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Updates fed to the framework and not finished."""
        return len(self._in_flight)

    async def begin(self) -> None:
        """Finishes what the last run left half-done, then feeds every update it accepted
        and never handled, oldest first."""
        await self.retrying("resuming the last run's answers", self.dispatcher.resume)
        await self._redrive()

    async def accept(self, inbound: Sequence[InboundUpdate]) -> list[int]:
        """Records updates, retrying with back-off for as long as the database refuses
        (busy, locked, unreachable): they are delayed, never dropped. Returns the ids new to
        the inbox (the ones to feed)."""
        what = f"recording {len(inbound)} updates (not confirmed until recorded)"
        return await self.retrying(what, partial(self.dispatcher.accept, inbound))

    async def retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()` until it succeeds, waiting between failures from
        ``retry_initial_seconds``, doubling up to ``retry_max_seconds``."""
        delay = self.policy.retry_initial_seconds
        while True:
            try:
                return await attempt()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "%s: %s failed (%s); retrying in %.1f s",
                    self.name,
                    what,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.policy.retry_max_seconds)

    async def _redrive(self) -> None:
        """Feeds every update accepted and never handled, oldest first, in pages."""
        after, total = 0, 0
        while True:
            page = await self.retrying(
                "reading the inbox",
                partial(self.dispatcher.waiting, after, self.policy.max_in_flight),
            )
            if not page:
                break
            for item in page:
                await self.room()
                try:
                    update = self.from_json(item.payload)
                except Exception:
                    log.exception(
                        "%s: stored update %s cannot be read; left in the inbox",
                        self.name,
                        item.update_id,
                    )
                    continue
                self.spawn(update, item.update_id)
            total += len(page)
            after = page[-1].update_id
        if total:
            log.info("%s: handling %d updates accepted before the last stop", self.name, total)

    async def room(self) -> None:
        """Waits while `max_in_flight` updates are being handled (back-pressure)."""
        while len(self._in_flight) >= self.policy.max_in_flight:
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    def spawn(self, update: U, update_id: int) -> None:
        """Feeds `update` in a task of its own. The core's dispatcher serialises a chat's
        updates in the order their tasks start."""
        task = asyncio.create_task(self._handle(update, update_id), name=f"update-{update_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _handle(self, update: U, update_id: int) -> None:
        """Feeds one update. The core tries it again itself when its handling fails (a busy
        database, say), holding the chat's turn so the chat's later updates wait; past its
        attempts the update stays in the inbox for the next start."""
        try:
            await self._feed(update)
        except Exception:
            log.exception("%s: update %s failed", self.name, update_id)

    async def drain(self) -> None:
        """Tells the core to begin no more updates (those waiting for their chat's turn stay
        in the inbox, so a long paced backlog does not hold up a stop); then awaits the
        updates being handled for at most the grace period. What outlasts it is cancelled
        and stays in the inbox for the next start (a cancelled send may have reached
        Telegram: the grace period is the last resort, not the plan)."""
        self.dispatcher.close()
        if not self._in_flight:
            return
        log.info("%s: waiting for %d updates in flight", self.name, len(self._in_flight))
        _done, pending = await asyncio.wait(
            set(self._in_flight), timeout=self.policy.stop_grace_seconds
        )
        if pending:
            log.warning(
                "%s: %d updates not finished after %.1f s; they stay in the inbox and are "
                "handled at the next start",
                self.name,
                len(pending),
                self.policy.stop_grace_seconds,
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


class Poller(Generic[U]):
    """One long-poll loop over framework updates of type `U`.

    `fetch(offset)` is the framework's ``get_updates``; `to_json` and `from_json` turn its
    update objects into Bot API JSON and back (for the inbox); `feed` hands one update to the
    framework's own dispatch. `name` only labels the logs.
    """

    def __init__(
        self,
        *,
        name: str,
        dispatcher: Intake,
        policy: PollingPolicy,
        fetch: Callable[[int | None], Awaitable[Sequence[U]]],
        to_json: Callable[[U], dict[str, Any]],
        from_json: Callable[[Mapping[str, Any]], U],
        feed: Callable[[U], Awaitable[object]],
    ) -> None:
        self._name = name
        self._feeder = Feeder(
            name=name, dispatcher=dispatcher, policy=policy, from_json=from_json, feed=feed
        )
        self._fetch = fetch
        self._to_json = to_json
        self._task: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        """Updates fed to the framework and not finished."""
        return self._feeder.in_flight

    def start(self) -> None:
        """Re-drives the inbox, then polls, in a background task."""
        self._task = asyncio.create_task(self._run(), name=f"{self._name}-polling")

    async def stop(self) -> None:
        """Stops fetching, then drains (:meth:`Feeder.drain`)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._feeder.drain()

    async def _run(self) -> None:
        feeder = self._feeder
        await feeder.begin()
        offset: int | None = None
        log.info("%s: polling", self._name)
        while True:
            await feeder.room()
            # network trouble, 409, 5xx: nothing was confirmed, the batch is still there
            batch = await feeder.retrying("getUpdates", partial(self._fetch, offset))
            if not batch:
                continue
            payloads = [self._to_json(update) for update in batch]
            inbound = [InboundUpdate(int(p["update_id"]), chat_of(p), p) for p in payloads]
            added = set(await feeder.accept(inbound))
            offset = max(u.update_id for u in inbound) + 1  # the next fetch confirms the batch
            for update, item in zip(batch, inbound, strict=True):
                if item.update_id in added:
                    feeder.spawn(update, item.update_id)
