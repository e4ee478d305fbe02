"""A first-come, first-served lock per chat, forgotten when nobody holds or awaits it.

The dispatcher uses one set so a chat's updates are handled one at a time in arrival order;
delivery uses another so a chat's messages go out in the order they were produced. Keys live
only while in use, so memory does not grow with the number of customers.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    def __len__(self) -> int:
        return len(self._locks)
