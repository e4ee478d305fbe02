""":class:`bot.core.ports.TopicRepository` over the ``ticket_topic`` table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import TicketRow, TicketTopicRow


class SqlTopicRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def thread_of(self, ticket_id: int, chat_id: int) -> int | None:
        row = await self._session.get(TicketTopicRow, (ticket_id, chat_id))
        return None if row is None else row.thread_id

    async def save(self, ticket_id: int, chat_id: int, thread_id: int) -> None:
        await self._session.execute(
            delete(TicketTopicRow).where(
                col(TicketTopicRow.ticket_id) == ticket_id,
                col(TicketTopicRow.chat_id) == chat_id,
            )
        )
        self._session.add(
            TicketTopicRow(
                ticket_id=ticket_id,
                chat_id=chat_id,
                thread_id=thread_id,
                created_at=datetime.now(UTC),
            )
        )
        await self._session.flush()

    async def ticket_of(self, chat_id: int, thread_id: int) -> int | None:
        stmt = select(TicketTopicRow.ticket_id).where(
            col(TicketTopicRow.chat_id) == chat_id, col(TicketTopicRow.thread_id) == thread_id
        )
        return (await self._session.scalars(stmt)).first()

    async def of_customer(self, customer_id: int) -> list[tuple[int, int, int]]:
        stmt = (
            select(TicketTopicRow.ticket_id, TicketTopicRow.chat_id, TicketTopicRow.thread_id)
            .join(TicketRow, col(TicketRow.id) == col(TicketTopicRow.ticket_id))
            .where(col(TicketRow.customer_id) == customer_id)
            .order_by(col(TicketTopicRow.ticket_id), col(TicketTopicRow.chat_id))
        )
        rows = await self._session.execute(stmt)
        return [(ticket_id, chat_id, thread_id) for ticket_id, chat_id, thread_id in rows]
