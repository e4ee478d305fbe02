"""Inserting a row that a unique constraint may refuse, without spoiling the transaction."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


async def add_unless_taken(session: AsyncSession, row: SQLModel) -> bool:
    """Adds and flushes `row` inside a savepoint; False (the row is not added, the outer
    transaction goes on) when a unique constraint refuses it — the idempotency keys of staff
    tasks and surveys, say."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True
