""":class:`bot.core.ports.RatingRepository` over the ``ticket_rating`` and ``ticket_revisit``
tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.ratings import Rating, Revisit, RevisitAnswer
from storage.tables import TicketRatingRow, TicketRevisitRow, TicketRow


def rating_from_row(row: TicketRatingRow) -> Rating:
    return Rating(
        id=row.id,
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        score=row.score,
        comment=row.comment,
        rated_at=row.rated_at,
    )


def revisit_from_row(row: TicketRevisitRow) -> Revisit:
    return Revisit(
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        due_at=row.due_at,
        sent_at=row.sent_at,
        skipped=row.skipped,
        answer=RevisitAnswer(row.answer) if row.answer else None,
        answered_at=row.answered_at,
    )


class SqlRatingRepository:
    """Ratings (inserted once per ticket) and revisits (claimed by conditional updates)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _rating_row(self, ticket_id: int) -> TicketRatingRow | None:
        stmt = select(TicketRatingRow).where(col(TicketRatingRow.ticket_id) == ticket_id)
        return (await self._session.scalars(stmt)).first()

    async def add(self, rating: Rating) -> bool:
        if await self._rating_row(rating.ticket_id) is not None:
            return False
        row = TicketRatingRow(
            ticket_id=rating.ticket_id,
            customer_id=rating.customer_id,
            score=rating.score,
            comment=rating.comment,
            rated_at=rating.rated_at,
        )
        try:
            async with self._session.begin_nested():  # a concurrent rating: only the savepoint
                self._session.add(row)
        except IntegrityError:
            return False
        return True

    async def get(self, ticket_id: int) -> Rating | None:
        row = await self._rating_row(ticket_id)
        return None if row is None else rating_from_row(row)

    async def set_comment(self, ticket_id: int, comment: str) -> bool:
        stmt = (
            update(TicketRatingRow)
            .where(
                col(TicketRatingRow.ticket_id) == ticket_id,
                col(TicketRatingRow.comment).is_(None),
            )
            .values(comment=comment)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        done = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        row = await self._rating_row(ticket_id)
        if done and row is not None:
            await self._session.refresh(row)
        return done

    async def for_tickets_created_between(self, start: datetime, end: datetime) -> list[Rating]:
        stmt = (
            select(TicketRatingRow)
            .join(TicketRow, col(TicketRow.id) == col(TicketRatingRow.ticket_id))
            .where(col(TicketRow.created_at) >= start, col(TicketRow.created_at) < end)
            .order_by(col(TicketRatingRow.ticket_id))
        )
        return [rating_from_row(r) for r in await self._session.scalars(stmt)]

    async def plan_revisit(self, ticket_id: int, customer_id: int, due_at: datetime) -> None:
        row = await self._session.get(TicketRevisitRow, ticket_id)
        if row is None:
            self._session.add(
                TicketRevisitRow(ticket_id=ticket_id, customer_id=customer_id, due_at=due_at)
            )
        else:
            row.customer_id, row.due_at = customer_id, due_at
            row.sent_at = row.skipped = row.answer = row.answered_at = None
        await self._session.flush()

    async def get_revisit(self, ticket_id: int) -> Revisit | None:
        row = await self._session.get(TicketRevisitRow, ticket_id)
        return None if row is None else revisit_from_row(row)

    async def claim_revisit(self, ticket_id: int, now: datetime) -> bool:
        stmt = (
            update(TicketRevisitRow)
            .where(
                col(TicketRevisitRow.ticket_id) == ticket_id,
                col(TicketRevisitRow.sent_at).is_(None),
                col(TicketRevisitRow.due_at) <= now,
            )
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        done = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if done:
            await self._refresh(ticket_id)
        return done

    async def skip_revisit(self, ticket_id: int, reason: str) -> None:
        row = await self._session.get(TicketRevisitRow, ticket_id)
        if row is not None:
            row.skipped = reason
            await self._session.flush()

    async def due_revisits(self, now: datetime, limit: int = 500) -> list[int]:
        stmt = (
            select(TicketRevisitRow.ticket_id)
            .where(col(TicketRevisitRow.sent_at).is_(None), col(TicketRevisitRow.due_at) <= now)
            .order_by(col(TicketRevisitRow.due_at), col(TicketRevisitRow.ticket_id))
            .limit(limit)
        )
        return list(await self._session.scalars(stmt))

    async def answer_revisit(self, ticket_id: int, answer: RevisitAnswer, at: datetime) -> bool:
        stmt = (
            update(TicketRevisitRow)
            .where(
                col(TicketRevisitRow.ticket_id) == ticket_id,
                col(TicketRevisitRow.sent_at).is_not(None),
                col(TicketRevisitRow.answer).is_(None),
            )
            .values(answer=answer.value, answered_at=at)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        done = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if done:
            await self._refresh(ticket_id)
        return done

    async def _refresh(self, ticket_id: int) -> None:
        """Conditional updates bypass the session's identity map: reload a row it holds."""
        row = await self._session.get(TicketRevisitRow, ticket_id)
        if row is not None:
            await self._session.refresh(row)
