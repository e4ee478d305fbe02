"""Turn-taking for asyncio tasks.

:class:`ChatLocks` is a first-come, first-served lock per chat, forgotten when nobody holds or
awaits it. The dispatcher uses one set so a chat's updates are handled one at a time in
arrival order; delivery uses another so a chat's messages go out in the order they were
produced. Keys live only while in use, so memory does not grow with the number of customers.

:class:`UrgentFirst` is one lock whose waiters are served urgent ones first, each kind in
arrival order: delivery's bot-wide turn, so an answer to a customer who just wrote never
queues behind a broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator


class ChatLocks:
    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        """Waits for the chat's turn (asyncio locks wake waiters in arrival order)."""
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    def free(self, chat_id: int) -> bool:
        """Nobody holds or awaits the chat's turn: taking it now would not wait."""
        return chat_id not in self._locks

    def __len__(self) -> int:
        return len(self._locks)


class UrgentFirst:
    """A lock that hands itself to the waiting urgent holders first, then to the others, each
    in arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def hold(self, urgent: bool) -> AsyncIterator[None]:
        if self._held:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (0 if urgent else 1, next(self._arrivals), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed over, then cancelled
                    self._hand_over()
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """Passes the lock to the next waiter still waiting, or frees it."""
        while self._waiters:
            _urgency, _arrival, turn = heapq.heappop(self._waiters)
            if not turn.done():
                turn.set_result(None)
                return
        self._held = False

    @property
    def free(self) -> bool:
        """Nobody holds the lock (then nobody awaits it either): taking it would not wait."""
        return not self._held

    @property
    def waiting(self) -> int:
        return sum(1 for *_, turn in self._waiters if not turn.done())
