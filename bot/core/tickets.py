"""Tickets: the record of a complaint (or an enquiry handed to a person) and its life.

A ticket moves through SPEC §6's states; every change is an append-only :class:`TicketEvent`
(who, when, what, note), so its whole history can be read back. Which changes the customer
is told about is decided here (:data:`CUSTOMER_VISIBLE`), not in the handlers.

Escalation follows the chain agent → supervisor → manager (:class:`Level`); a major complaint
starts at the supervisor (with the manager informed), and each SLA breach moves one level up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from bot.core.triage import Priority, Severity


class TicketKind(StrEnum):
    COMPLAINT = "complaint"
    ENQUIRY = "enquiry"


class TicketState(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    SOLUTION_PROPOSED = "solution_proposed"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATES = frozenset(
    {
        TicketState.RECEIVED,
        TicketState.ACKNOWLEDGED,
        TicketState.INVESTIGATING,
        TicketState.SOLUTION_PROPOSED,
    }
)

# Forward moves allowed from each state. Reopening (resolved/closed → investigating) is a
# separate, explicit action: see `can_reopen`.
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    TicketState.RECEIVED: frozenset(
        {TicketState.ACKNOWLEDGED, TicketState.INVESTIGATING, TicketState.RESOLVED}
    ),
    TicketState.ACKNOWLEDGED: frozenset(
        {TicketState.INVESTIGATING, TicketState.SOLUTION_PROPOSED, TicketState.RESOLVED}
    ),
    TicketState.INVESTIGATING: frozenset({TicketState.SOLUTION_PROPOSED, TicketState.RESOLVED}),
    TicketState.SOLUTION_PROPOSED: frozenset({TicketState.INVESTIGATING, TicketState.RESOLVED}),
    TicketState.RESOLVED: frozenset({TicketState.CLOSED}),
    TicketState.CLOSED: frozenset(),
}

REOPEN_TO = TicketState.INVESTIGATING

CUSTOMER_VISIBLE = frozenset(
    {
        TicketState.ACKNOWLEDGED,
        TicketState.INVESTIGATING,
        TicketState.SOLUTION_PROPOSED,
        TicketState.RESOLVED,
        TicketState.CLOSED,
    }
)
"""States whose arrival the customer is told about (every one but "received", which the
acknowledgement itself replaces)."""


class Level(IntEnum):
    """Who is answerable for a ticket now."""

    AGENT = 1
    SUPERVISOR = 2
    MANAGER = 3


class EventKind(StrEnum):
    OPENED = "opened"
    TRANSITION = "transition"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    CONTACT = "contact"
    SEVERITY_RAISED = "severity_raised"
    NOTE = "note"
    FIRST_RESPONSE = "first_response"
    RATED = "rated"
    REVISIT = "revisit"


class TicketError(ValueError):
    """A requested change that the rules do not allow; the message says why."""


class NeedsRemediationPlan(TicketError):
    """A major complaint cannot be resolved before its written remediation plan is recorded."""


@dataclass(slots=True)
class Ticket:
    """A complaint or hand-off. Times are UTC; `*_due_at` are the SLA deadlines."""

    customer_id: int
    chat_id: int
    kind: TicketKind
    severity: Severity
    priority: Priority
    state: TicketState
    level: Level
    text: str
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime
    resolution_due_at: datetime
    id: int | None = None
    number: str = ""
    category: str | None = None
    summary: str | None = None
    order_ref: str | None = None
    attachments: list[str] = field(default_factory=list)
    department: str | None = None
    negativity: float = 0.0
    signals: list[str] = field(default_factory=list)
    contacts: int = 1
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    first_response_warned_at: datetime | None = None
    resolution_warned_at: datetime | None = None
    first_response_breached_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    remediation_plan: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry in a ticket's history. `actor` is ``bot``, ``system``, ``customer:<id>``
    or ``staff:<telegram id>``."""

    ticket_id: int
    at: datetime
    actor: str
    kind: EventKind
    from_state: TicketState | None = None
    to_state: TicketState | None = None
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


def ticket_number(ticket_id: int, prefix: str = "T") -> str:
    """A short number customers can read out on the phone: ``T-000042``."""
    return f"{prefix}-{ticket_id:06d}"


def check_transition(ticket: Ticket, to: TicketState, note: str | None) -> None:
    """Raises :class:`TicketError` unless `ticket` may move to `to` with `note`."""
    if to not in TRANSITIONS[ticket.state]:
        raise TicketError(f"{ticket.number or 'ticket'} cannot go from {ticket.state} to {to}")
    if (
        to is TicketState.RESOLVED
        and ticket.severity is Severity.MAJOR
        and not (note or ticket.remediation_plan)
    ):
        raise NeedsRemediationPlan(
            "a major complaint is resolved only with a written remediation plan"
        )


def can_reopen(ticket: Ticket) -> bool:
    return ticket.state in (TicketState.RESOLVED, TicketState.CLOSED)


def starting_level(severity: Severity, escalate_major_to: Level = Level.SUPERVISOR) -> Level:
    """Major complaints go straight to the supervisor (the manager is informed too)."""
    return escalate_major_to if severity is Severity.MAJOR else Level.AGENT


def next_level(level: Level) -> Level | None:
    """One step up the chain, or None at the top."""
    return Level(level + 1) if level < Level.MANAGER else None


def raise_severity(severity: Severity) -> Severity:
    """One step: general → quality → major (major stays major)."""
    order = [Severity.GENERAL, Severity.QUALITY, Severity.MAJOR]
    return order[min(order.index(severity) + 1, len(order) - 1)]
