"""Escalation by hand: a staff member moves a ticket one level up the chain (agent →
supervisor → manager) from its card, as an SLA breach would (SPEC §4: every escalation is
recorded)."""

from __future__ import annotations

from datetime import datetime

from bot.core.messages import Reply
from bot.core.policies import Policies
from bot.core.ports import UnitOfWork
from bot.core.services.tickets import Outcome
from bot.core.tickets import EventKind, TicketError, TicketEvent, next_level


class AtTopLevel(TicketError):
    """The ticket is already with a manager: there is nobody further up."""


async def escalate(
    uow: UnitOfWork,
    ticket_id: int,
    *,
    actor: str,
    by: str,
    now: datetime,
    policies: Policies,
) -> Outcome:
    """Moves an open ticket one level up, records an ``ESCALATED`` event, and announces it
    (naming who, `by`) to the staff group and to the chats of the new level. Raises
    :class:`AtTopLevel` at the top and :class:`TicketError` for a missing or finished ticket."""
    ticket = await uow.tickets.get(ticket_id)
    if ticket is None or ticket.id is None:
        raise TicketError(f"no ticket {ticket_id}")
    if not ticket.is_open:
        raise TicketError("only an open ticket is escalated")
    higher = next_level(ticket.level)
    if higher is None:
        raise AtTopLevel("the ticket is already with a manager")
    await uow.tickets.add_event(
        TicketEvent(
            ticket.id,
            now,
            actor,
            EventKind.ESCALATED,
            data={"from": ticket.level.name.lower(), "to": higher.name.lower(), "reason": "staff"},
        )
    )
    ticket.level = higher
    ticket.updated_at = now
    await uow.tickets.update(ticket)
    chats = policies.staff.alerted_at(higher)
    notices = [
        Reply(
            "staff.escalated_by_staff",
            {
                "number": ticket.number,
                "severity": ticket.severity.value,
                "level": higher.name.lower(),
                "agent": by,
            },
            chat_id=chat,
            locale=policies.staff.locale,
        )
        for chat in chats
    ]
    return Outcome(ticket, notices)
