"""The inbox repository: Telegram updates accepted and not yet handled (``inbound_update``).

The payload is stored as JSON text (portable: SQLite and PostgreSQL alike). A row is deleted
when its update is marked handled (:meth:`storage.repositories.SqlMessageLogRepository.
mark_handled`, same transaction) or discarded, so the table only ever holds pending work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.ports import InboundUpdate
from storage.tables import InboundUpdateRow, MessageLogRow


class SqlInboxRepository:
    """:class:`bot.core.ports.InboxRepository` over the ``inbound_update`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_new(self, updates: Sequence[InboundUpdate], at: datetime) -> list[int]:
        ids = [u.update_id for u in updates]
        if not ids:
            return []
        waiting = await self._session.scalars(
            select(InboundUpdateRow.update_id).where(col(InboundUpdateRow.update_id).in_(ids))
        )
        handled = await self._session.scalars(
            select(MessageLogRow.update_id).where(col(MessageLogRow.update_id).in_(ids))
        )
        known = set(waiting) | set(handled)
        added: list[int] = []
        for update in updates:
            if update.update_id in known:
                continue
            known.add(update.update_id)  # the same id twice in one batch is one update
            self._session.add(
                InboundUpdateRow(
                    update_id=update.update_id,
                    chat_id=update.chat_id,
                    payload=json.dumps(update.payload, separators=(",", ":")),
                    received_at=at,
                )
            )
            added.append(update.update_id)
        await self._session.flush()
        return added

    async def is_waiting(self, update_id: int) -> bool:
        return await self._session.get(InboundUpdateRow, update_id) is not None

    async def waiting(self, after_update_id: int = 0, limit: int = 100) -> list[InboundUpdate]:
        stmt = (
            select(InboundUpdateRow)
            .where(col(InboundUpdateRow.update_id) > after_update_id)
            .order_by(col(InboundUpdateRow.update_id))
            .limit(limit)
        )
        return [
            InboundUpdate(row.update_id, row.chat_id, json.loads(row.payload))
            for row in await self._session.scalars(stmt)
        ]

    async def discard(self, update_id: int) -> None:
        await forget(self._session, update_id)

    async def older_waiting(self, chat_id: int, update_id: int) -> list[int]:
        stmt = (
            select(InboundUpdateRow.update_id)
            .where(
                col(InboundUpdateRow.chat_id) == chat_id,
                col(InboundUpdateRow.update_id) < update_id,
            )
            .order_by(col(InboundUpdateRow.update_id))
        )
        return list(await self._session.scalars(stmt))


async def forget(session: AsyncSession, update_id: int) -> None:
    """Deletes the inbox row of `update_id`, if any (it has been handled or needs nothing)."""
    await session.execute(
        delete(InboundUpdateRow).where(col(InboundUpdateRow.update_id) == update_id)
    )
