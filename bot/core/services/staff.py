"""The staff roster: who works the desk and in which role, and dedicated advisors."""

from __future__ import annotations

from datetime import datetime

from bot.core.ports import UnitOfWork
from bot.core.roles import Role, StaffMember


async def enroll(
    uow: UnitOfWork, telegram_user_id: int, name: str, role: Role, now: datetime
) -> StaffMember:
    """Puts a person on the roster, or changes their name and role if they are on it."""
    known = await uow.staff.get(telegram_user_id)
    member = StaffMember(
        telegram_user_id=telegram_user_id,
        name=name or (known.name if known else str(telegram_user_id)),
        role=role,
        added_at=known.added_at if known else now,
    )
    return await uow.staff.save(member)


async def withdraw(uow: UnitOfWork, telegram_user_id: int) -> bool:
    """Takes a person off the roster (kept, inactive, for the audit trail); False if they
    were not on it."""
    member = await uow.staff.get(telegram_user_id)
    if member is None:
        return False
    member.active = False
    await uow.staff.save(member)
    return True
