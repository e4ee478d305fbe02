""":class:`bot.core.ports.DeskRepository` over the ``takeover`` table."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.desk import Takeover
from storage.tables import TakeoverRow


def _takeover(row: TakeoverRow) -> Takeover:
    return Takeover(
        customer_chat_id=row.customer_chat_id,
        customer_id=row.customer_id,
        ticket_id=row.ticket_id,
        agent_user_id=row.agent_user_id,
        started_at=row.started_at,
    )


class SqlDeskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, customer_chat_id: int) -> Takeover | None:
        row = await self._session.get(TakeoverRow, customer_chat_id)
        return None if row is None else _takeover(row)

    async def for_agent(self, agent_user_id: int) -> list[Takeover]:
        stmt = (
            select(TakeoverRow)
            .where(col(TakeoverRow.agent_user_id) == agent_user_id)
            .order_by(col(TakeoverRow.started_at))
        )
        return [_takeover(r) for r in await self._session.scalars(stmt)]

    async def start(self, takeover: Takeover) -> None:
        row = await self._session.get(TakeoverRow, takeover.customer_chat_id)
        if row is None:
            self._session.add(
                TakeoverRow(
                    customer_chat_id=takeover.customer_chat_id,
                    customer_id=takeover.customer_id,
                    ticket_id=takeover.ticket_id,
                    agent_user_id=takeover.agent_user_id,
                    started_at=takeover.started_at,
                )
            )
        else:
            row.ticket_id, row.agent_user_id = takeover.ticket_id, takeover.agent_user_id
            row.started_at = takeover.started_at
        await self._session.flush()

    async def end(self, customer_chat_id: int) -> bool:
        result = await self._session.execute(
            delete(TakeoverRow).where(col(TakeoverRow.customer_chat_id) == customer_chat_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
