""":class:`bot.core.ports.TicketRepository` over the ``ticket`` and ``ticket_event`` tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.ports import SLA_MARKS
from bot.core.tickets import (
    OPEN_STATES,
    EventKind,
    Level,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketState,
    ticket_number,
)
from bot.core.triage import Priority, Severity
from storage.mapping import assign
from storage.tables import TicketEventRow, TicketRow

_OPEN = [s.value for s in OPEN_STATES]


def ticket_from_row(row: TicketRow) -> Ticket:
    assert row.id is not None
    return Ticket(
        id=row.id,
        number=row.number or ticket_number(row.id),
        customer_id=row.customer_id,
        chat_id=row.chat_id,
        kind=TicketKind(row.kind),
        severity=Severity(row.severity),
        priority=Priority(row.priority),
        state=TicketState(row.state),
        level=Level(row.level),
        text=row.text,
        category=row.category,
        summary=row.summary,
        order_ref=row.order_ref,
        attachments=list(row.attachments or []),
        department=row.department,
        negativity=row.negativity,
        signals=list(row.signals or []),
        contacts=row.contacts,
        remediation_plan=row.remediation_plan,
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_response_due_at=row.first_response_due_at,
        resolution_due_at=row.resolution_due_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        first_response_warned_at=row.first_response_warned_at,
        resolution_warned_at=row.resolution_warned_at,
        first_response_breached_at=row.first_response_breached_at,
        resolution_breached_at=row.resolution_breached_at,
    )


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    return {
        "customer_id": ticket.customer_id,
        "chat_id": ticket.chat_id,
        "kind": ticket.kind.value,
        "severity": ticket.severity.value,
        "priority": ticket.priority.value,
        "state": ticket.state.value,
        "level": int(ticket.level),
        "text": ticket.text,
        "category": ticket.category,
        "summary": ticket.summary,
        "order_ref": ticket.order_ref,
        "attachments": list(ticket.attachments),
        "department": ticket.department,
        "negativity": float(ticket.negativity),
        "signals": list(ticket.signals),
        "contacts": ticket.contacts,
        "remediation_plan": ticket.remediation_plan,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_due_at": ticket.first_response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "first_response_warned_at": ticket.first_response_warned_at,
        "resolution_warned_at": ticket.resolution_warned_at,
        "first_response_breached_at": ticket.first_response_breached_at,
        "resolution_breached_at": ticket.resolution_breached_at,
    }


def event_from_row(row: TicketEventRow) -> TicketEvent:
    return TicketEvent(
        id=row.id,
        ticket_id=row.ticket_id,
        at=row.at,
        actor=row.actor,
        kind=EventKind(row.kind),
        from_state=TicketState(row.from_state) if row.from_state else None,
        to_state=TicketState(row.to_state) if row.to_state else None,
        note=row.note,
        data=dict(row.data or {}),
    )


class SqlTicketRepository:
    """Tickets and their events; events are only ever inserted."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, ticket: Ticket) -> Ticket:
        row = TicketRow(**ticket_values(ticket))
        self._session.add(row)
        await self._session.flush()
        assert row.id is not None
        row.number = ticket_number(row.id)
        await self._session.flush()
        return ticket_from_row(row)

    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self._session.get(TicketRow, ticket_id)
        return None if row is None else ticket_from_row(row)

    async def get_by_number(self, number: str) -> Ticket | None:
        stmt = select(TicketRow).where(col(TicketRow.number) == number.strip().upper())
        row = (await self._session.scalars(stmt)).first()
        return None if row is None else ticket_from_row(row)

    async def update(self, ticket: Ticket) -> None:
        if ticket.id is None:
            raise ValueError("cannot update a ticket that has no id; add it first")
        row = await self._session.get(TicketRow, ticket.id)
        if row is None:
            raise LookupError(f"no ticket with id {ticket.id}")
        assign(row, ticket_values(ticket))

    async def open_for_customer(self, customer_id: int) -> list[Ticket]:
        stmt = (
            select(TicketRow)
            .where(col(TicketRow.customer_id) == customer_id, col(TicketRow.state).in_(_OPEN))
            .order_by(col(TicketRow.id).desc())
        )
        return [ticket_from_row(r) for r in await self._session.scalars(stmt)]

    async def open_tickets(self, after_id: int = 0, limit: int = 500) -> list[Ticket]:
        stmt = (
            select(TicketRow)
            .where(col(TicketRow.state).in_(_OPEN), col(TicketRow.id) > after_id)
            .order_by(col(TicketRow.id))
            .limit(limit)
        )
        return [ticket_from_row(r) for r in await self._session.scalars(stmt)]

    async def created_between(self, start: datetime, end: datetime) -> list[Ticket]:
        stmt = (
            select(TicketRow)
            .where(col(TicketRow.created_at) >= start, col(TicketRow.created_at) < end)
            .order_by(col(TicketRow.id))
        )
        return [ticket_from_row(r) for r in await self._session.scalars(stmt)]

    async def mark_once(self, ticket_id: int, field: str, at: datetime) -> bool:
        if field not in SLA_MARKS:
            raise ValueError(f"{field!r} is not an SLA mark")
        column = getattr(TicketRow, field)
        stmt = (
            update(TicketRow)
            .where(col(TicketRow.id) == ticket_id, col(column).is_(None))
            .values({field: at})
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        done = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if done:
            row = await self._session.get(TicketRow, ticket_id)
            if row is not None:
                await self._session.refresh(row)
        return done

    async def add_event(self, event: TicketEvent) -> TicketEvent:
        row = TicketEventRow(
            ticket_id=event.ticket_id,
            at=event.at,
            actor=event.actor,
            kind=event.kind.value,
            from_state=event.from_state.value if event.from_state else None,
            to_state=event.to_state.value if event.to_state else None,
            note=event.note,
            data=dict(event.data),
        )
        self._session.add(row)
        await self._session.flush()
        return event_from_row(row)

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        stmt = (
            select(TicketEventRow)
            .where(col(TicketEventRow.ticket_id) == ticket_id)
            .order_by(col(TicketEventRow.id))
        )
        return [event_from_row(r) for r in await self._session.scalars(stmt)]
