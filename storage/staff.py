""":class:`bot.core.ports.StaffRepository` over the roster, advisor and audit tables."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.roles import AuditEntry, Role, StaffMember
from storage.tables import CustomerAdvisorRow, StaffAuditRow, StaffMemberRow


def _member(row: StaffMemberRow) -> StaffMember:
    return StaffMember(
        id=row.id,
        telegram_user_id=row.telegram_user_id,
        name=row.name,
        role=Role(row.role),
        active=row.active,
        added_at=row.added_at,
    )


class SqlStaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _row(self, telegram_user_id: int) -> StaffMemberRow | None:
        stmt = select(StaffMemberRow).where(
            col(StaffMemberRow.telegram_user_id) == telegram_user_id
        )
        return (await self._session.scalars(stmt)).first()

    async def get(self, telegram_user_id: int) -> StaffMember | None:
        row = await self._row(telegram_user_id)
        return _member(row) if row is not None and row.active else None

    async def save(self, member: StaffMember) -> StaffMember:
        row = await self._row(member.telegram_user_id)
        if row is None:
            row = StaffMemberRow(
                telegram_user_id=member.telegram_user_id,
                name=member.name,
                role=member.role.value,
                active=member.active,
                added_at=member.added_at,
            )
            self._session.add(row)
        else:
            row.name, row.role, row.active = member.name, member.role.value, member.active
        await self._session.flush()
        return _member(row)

    async def members(self, include_inactive: bool = False) -> list[StaffMember]:
        stmt = select(StaffMemberRow).order_by(col(StaffMemberRow.id))
        if not include_inactive:
            stmt = stmt.where(col(StaffMemberRow.active).is_(True))
        return [_member(r) for r in await self._session.scalars(stmt)]

    async def set_advisor(self, customer_id: int, staff_user_id: int | None) -> None:
        await self._session.execute(
            delete(CustomerAdvisorRow).where(col(CustomerAdvisorRow.customer_id) == customer_id)
        )
        if staff_user_id is not None:
            self._session.add(
                CustomerAdvisorRow(customer_id=customer_id, staff_user_id=staff_user_id)
            )
        await self._session.flush()

    async def advisor_of(self, customer_id: int) -> int | None:
        row = await self._session.get(CustomerAdvisorRow, customer_id)
        return None if row is None else row.staff_user_id

    async def audit(self, entry: AuditEntry) -> None:
        self._session.add(
            StaffAuditRow(
                at=entry.at,
                telegram_user_id=entry.telegram_user_id,
                action=entry.action,
                allowed=entry.allowed,
                chat_id=entry.chat_id,
                detail=(entry.detail or "")[:255] or None,
            )
        )
        await self._session.flush()

    async def audit_trail(self, telegram_user_id: int, limit: int = 100) -> list[AuditEntry]:
        stmt = (
            select(StaffAuditRow)
            .where(col(StaffAuditRow.telegram_user_id) == telegram_user_id)
            .order_by(col(StaffAuditRow.id).desc())
            .limit(limit)
        )
        rows = list(await self._session.scalars(stmt))
        return [
            AuditEntry(r.at, r.telegram_user_id, r.action, r.allowed, r.chat_id, r.detail)
            for r in reversed(rows)
        ]
