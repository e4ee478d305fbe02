"""The staff roster: who works the desk and in which role, and dedicated advisors."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core.messages import Incoming
from bot.core.ports import UnitOfWork
from bot.core.roles import Action, AuditEntry, Role, StaffMember, can

log = logging.getLogger(__name__)


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


async def authorise(
    uow: UnitOfWork, msg: Incoming, action: Action, now: datetime
) -> StaffMember | None:
    """The roster member who sent `msg`, if their role allows `action`; else None. Every
    attempt is audited (the caller commits) and a refusal is logged — never its content."""
    detail = msg.callback_data or (f"/{msg.command}" if msg.command else None)
    member, allowed = await authorise_actor(
        uow, msg.sender.id, action, now, chat_id=msg.chat_id, detail=detail
    )
    return member if allowed else None


async def authorise_actor(
    uow: UnitOfWork,
    telegram_user_id: int,
    action: Action,
    now: datetime,
    *,
    chat_id: int | None = None,
    detail: str | None = None,
) -> tuple[StaffMember | None, bool]:
    """Whether the person `telegram_user_id` may perform `action` (in Telegram, or named by
    ``--by`` on the command line), with their roster entry (None: not on the roster). Every
    attempt is audited (the caller commits) and a refusal is logged."""
    member = await uow.staff.get(telegram_user_id)
    allowed = can(member.role if member else None, action)
    await uow.staff.audit(
        AuditEntry(
            at=now,
            telegram_user_id=telegram_user_id,
            action=action.value,
            allowed=allowed,
            chat_id=chat_id,
            detail=detail,
        )
    )
    if not allowed:
        log.warning(
            "staff action %s refused for user %s in chat %s: %s",
            action.value,
            telegram_user_id,
            chat_id,
            "role does not allow it" if member else "not on the staff roster",
        )
    return member, allowed
