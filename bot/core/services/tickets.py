"""Complaint handling use cases: open a ticket, add a repeat contact, move a ticket through its
states, and tell the right people.

Every change writes a :class:`TicketEvent` in the same unit of work as the ticket itself, and
returns the :class:`Reply` objects that must go out (to the customer, to staff) so the caller
delivers them after the commit: nothing is announced that was not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core import rating_prompts as prompts
from bot.core.html_text import shorten
from bot.core.messages import Button, Reply, TopicRef
from bot.core.models import Customer
from bot.core.policies import Policies
from bot.core.ports import JobRequest, UnitOfWork
from bot.core.ratings import REVISIT_TARGET, revisit_due, revisit_job_id
from bot.core.roles import StaffMember
from bot.core.services.customers import customer_locale
from bot.core.services.support import local_zone, within
from bot.core.sla import Case, SlaPolicy
from bot.core.tickets import (
    CUSTOMER_VISIBLE,
    REOPEN_TO,
    TRANSITIONS,
    EventKind,
    Level,
    Ticket,
    TicketError,
    TicketEvent,
    TicketKind,
    TicketState,
    can_reopen,
    check_transition,
    next_level,
    raise_severity,
    starting_level,
)
from bot.core.tiers import Tier
from bot.core.triage import Severity, priority

STAFF_PREFIX = "tk:"
TAKE_OVER_PREFIX = "tko:"
ESCALATE_PREFIX = "tke:"
STAFF_ACTIONS: dict[str, TicketState] = {
    "investigating": TicketState.INVESTIGATING,
    "proposed": TicketState.SOLUTION_PROPOSED,
    "resolved": TicketState.RESOLVED,
    "closed": TicketState.CLOSED,
}


@dataclass(frozen=True, slots=True)
class Intake:
    """What the complaint dialogue gathered, ready to become a ticket."""

    text: str
    severity: Severity
    kind: TicketKind = TicketKind.COMPLAINT
    category: str | None = None
    summary: str | None = None
    negativity: float = 0.0
    signals: tuple[str, ...] = ()
    order_ref: str | None = None
    attachments: tuple[str, ...] = ()


@dataclass(slots=True)
class Outcome:
    """A stored change, the messages it calls for, and the timed jobs to schedule once the
    unit of work has committed (:func:`bot.core.services.ratings.schedule`)."""

    ticket: Ticket
    replies: list[Reply] = field(default_factory=list)
    jobs: list[JobRequest] = field(default_factory=list)


def promise_params(ticket: Ticket, customer: Customer, policies: Policies) -> dict[str, Any]:
    """How to tell the customer when a person will respond, in their time zone."""
    zone = local_zone(customer, policies.locale.default_timezone)
    minutes = max(
        1, round((ticket.first_response_due_at - ticket.created_at).total_seconds() / 60)
    )
    key, count = within(minutes)
    return {
        "number": ticket.number,
        "due_local": ticket.first_response_due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "zone": zone.key,
        "within_key": key,
        "within_count": count,
        "severity": ticket.severity.value,
    }


def staff_buttons(ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    """The actions a ticket card offers for the ticket's present state."""
    row = tuple(
        Button(f"staff.button.{name}", f"{STAFF_PREFIX}{ticket.id}:{name}")
        for name, state in STAFF_ACTIONS.items()
        if state in TRANSITIONS[ticket.state]
    )
    if not ticket.is_open:
        return (row,) if row else ()
    take_over: tuple[Button, ...] = (
        Button("staff.button.take_over", f"{TAKE_OVER_PREFIX}{ticket.id}"),
    )
    if next_level(ticket.level) is not None:
        take_over += (Button("staff.button.escalate", f"{ESCALATE_PREFIX}{ticket.id}"),)
    return (take_over, row) if row else (take_over,)


SEVERITY_COLOURS: dict[Severity, int] = {
    Severity.GENERAL: 0x6FB9F0,
    Severity.QUALITY: 0xFFD67E,
    Severity.MAJOR: 0xFB6F5F,
}
"""Topic icon colours by severity (blue, yellow, red: the colours Telegram allows)."""


def ticket_topic(ticket: Ticket, customer_name: str, tier: Tier | None) -> TopicRef:
    """The ticket's topic in the staff forum: number, severity, customer and tier."""
    assert ticket.id is not None
    parts = [ticket.number, ticket.severity.value, customer_name, *([tier.value] if tier else [])]
    return TopicRef(ticket.id, " · ".join(parts), SEVERITY_COLOURS[ticket.severity])


#: The customer's words on the staff card, at most this many characters (UTF-16 units, as
#: Telegram counts); a longer complaint is cut with "…" and a note of how much was left out.
#: With the other shortened fields and :data:`STAFF_CARD_FRAME` the card fits Telegram's 4,096
#: with its "Why" and due-date lines (``tests/unit/test_message_limits.py`` checks the sum).
STAFF_CARD_QUOTE_LIMIT = 3_000
#: The customer's name on the card (Telegram allows 64 + 64; an imported name may be longer).
STAFF_CARD_NAME_LIMIT = 160
#: The "Why" line's triage reasons.
STAFF_CARD_REASONS_LIMIT = 300
#: The rest of the card in any locale: its fixed words, number, severity, level, order
#: reference (at most 32), dates and the note of what was left out (a test measures it).
STAFF_CARD_FRAME = 600


def staff_card(
    ticket: Ticket, customer: Customer, policies: Policies, tier: Tier | None, chat_id: int
) -> Reply:
    """The ticket's card for staff; the customer's words, name and the reasons are shortened
    (before escaping) so that the whole card, SLA lines included, fits one message."""
    quote, omitted = shorten(ticket.text, STAFF_CARD_QUOTE_LIMIT)
    return Reply(
        "staff.ticket_card",
        {
            "number": ticket.number,
            "severity": ticket.severity.value,
            "priority": ticket.priority.value,
            "customer": shorten(customer.display_name, STAFF_CARD_NAME_LIMIT)[0],
            "tier": tier.value if tier else None,
            "order_ref": ticket.order_ref,
            "photos": len(ticket.attachments),
            "text": quote,
            "text_omitted": omitted,
            "reasons": shorten(", ".join(ticket.signals) or "—", STAFF_CARD_REASONS_LIMIT)[0],
            "negativity": f"{ticket.negativity:.2f}",
            "first_due": ticket.first_response_due_at.strftime("%Y-%m-%d %H:%M"),
            "resolution_due": ticket.resolution_due_at.strftime("%Y-%m-%d %H:%M"),
            "level": ticket.level.name.lower(),
            "contacts": ticket.contacts,
        },
        buttons=staff_buttons(ticket),
        chat_id=chat_id,
        locale=policies.staff.locale,
        about_customer_id=customer.id,
        topic=ticket_topic(ticket, customer.display_name, tier)
        if policies.staff.topics and chat_id == policies.staff.group_chat_id
        else None,
    )


def staff_recipients(ticket: Ticket, policies: Policies) -> list[int]:
    """The staff group and the chats of the level that hears of `ticket` (a major one
    reaches the manager at once)."""
    level_for_alert = Level.MANAGER if ticket.severity is Severity.MAJOR else ticket.level
    return policies.staff.alerted_at(level_for_alert)


async def open_ticket(
    uow: UnitOfWork,
    customer: Customer,
    intake: Intake,
    *,
    now: datetime,
    policy: SlaPolicy,
    policies: Policies,
    tier: Tier | None,
    advisor: StaffMember | None = None,
) -> Outcome:
    """Opens and acknowledges a ticket; the customer gets the number and the promised time,
    staff get the card (a major complaint also reaches supervisor and manager). A customer's
    dedicated `advisor` gets the card first, in their private chat, and is named to them."""
    assert customer.id is not None
    if customer.chat_id is None:
        raise TicketError("a ticket needs a customer who can be reached on Telegram")
    first_due, resolution_due = policy.deadlines(now, intake.kind, intake.severity, tier)
    ticket = await uow.tickets.add(
        Ticket(
            customer_id=customer.id,
            chat_id=customer.chat_id,
            kind=intake.kind,
            severity=intake.severity,
            priority=priority(intake.severity, tier),
            state=TicketState.ACKNOWLEDGED,
            level=starting_level(intake.severity),
            text=intake.text,
            created_at=now,
            updated_at=now,
            first_response_due_at=first_due,
            resolution_due_at=resolution_due,
            category=intake.category,
            summary=intake.summary,
            order_ref=intake.order_ref,
            attachments=list(intake.attachments),
            negativity=intake.negativity,
            signals=list(intake.signals),
        )
    )
    assert ticket.id is not None
    actor = f"customer:{customer.id}"
    await uow.tickets.add_event(
        TicketEvent(
            ticket.id,
            now,
            actor,
            EventKind.OPENED,
            None,
            TicketState.RECEIVED,
            data={"severity": ticket.severity.value, "signals": list(intake.signals)},
        )
    )
    await uow.tickets.add_event(
        TicketEvent(
            ticket.id,
            now,
            "bot",
            EventKind.TRANSITION,
            TicketState.RECEIVED,
            TicketState.ACKNOWLEDGED,
        )
    )
    replies = [
        Reply(
            "complaint.opened",
            {
                "name": customer.first_name or customer.display_name,
                "advisor": advisor.name.split()[0] if advisor else None,
                **promise_params(ticket, customer, policies),
            },
            chat_id=customer.chat_id,
        )
    ]
    first = [advisor.telegram_user_id] if advisor else []
    replies += [
        staff_card(ticket, customer, policies, tier, chat)
        for chat in first + [c for c in staff_recipients(ticket, policies) if c not in first]
    ]
    return Outcome(ticket, replies)


async def add_contact(
    uow: UnitOfWork,
    customer: Customer,
    ticket: Ticket,
    text: str,
    *,
    now: datetime,
    policies: Policies,
    repeat_threshold: int,
    tier: Tier | None,
    severity: Severity | None = None,
) -> Outcome:
    """The customer complains again about an open ticket: record it. The ticket takes the new
    message's severity if that is higher (a threat of legal action makes it major), and the
    n-th contact (``repeat_threshold``, 3 by default) raises it one step besides."""
    assert ticket.id is not None and customer.id is not None
    ticket.contacts += 1
    ticket.updated_at = now
    await uow.tickets.add_event(
        TicketEvent(
            ticket.id,
            now,
            f"customer:{customer.id}",
            EventKind.CONTACT,
            note=text,
            data={"contacts": ticket.contacts},
        )
    )
    old = ticket.severity
    target = max(old, severity) if severity is not None else old
    if ticket.contacts >= repeat_threshold:
        target = raise_severity(target) if target is old else target
    raised = target is not old
    if raised:
        ticket.severity = target
        ticket.priority = priority(ticket.severity, tier)
        if ticket.severity is Severity.MAJOR:
            ticket.level = max(ticket.level, Level.SUPERVISOR)
            if ticket.first_response_at is None:  # the major clock applies from now on
                major_due = now + policies.sla.targets[Case.MAJOR].first_response
                ticket.first_response_due_at = min(ticket.first_response_due_at, major_due)
        await uow.tickets.add_event(
            TicketEvent(
                ticket.id,
                now,
                "bot",
                EventKind.SEVERITY_RAISED,
                data={"from": old.value, "to": ticket.severity.value, "contacts": ticket.contacts},
            )
        )
    await uow.tickets.update(ticket)
    replies = [
        Reply(
            "complaint.contact_added",
            {
                "name": customer.first_name or customer.display_name,
                "raised": raised,
                **promise_params(ticket, customer, policies),
            },
            chat_id=customer.chat_id,
        )
    ]
    if raised:
        replies += [
            Reply(
                "staff.severity_raised",
                {
                    "number": ticket.number,
                    "severity": ticket.severity.value,
                    "contacts": ticket.contacts,
                    "text": text,
                },
                chat_id=chat,
                locale=policies.staff.locale,
                about_customer_id=ticket.customer_id,
            )
            for chat in staff_recipients(ticket, policies)
        ]
    return Outcome(ticket, replies)


def same_issue(open_tickets: Sequence[Ticket], category: str | None) -> Ticket | None:
    """The open complaint a new complaint is about: the newest with the same category (or any
    open complaint when either has no category)."""
    for ticket in open_tickets:
        if ticket.kind is not TicketKind.COMPLAINT:
            continue
        if category is None or ticket.category is None or ticket.category == category:
            return ticket
    return None


async def transition(
    uow: UnitOfWork,
    ticket_id: int,
    to: TicketState,
    *,
    actor: str,
    now: datetime,
    policies: Policies,
    locales: Sequence[str],
    note: str | None = None,
) -> Outcome:
    """Moves a ticket (or reopens it, when `to` is investigating from resolved/closed) and
    says what the customer must be told. Raises :class:`TicketError` when not allowed."""
    ticket = await uow.tickets.get(ticket_id)
    if ticket is None:
        raise TicketError(f"no ticket {ticket_id}")
    assert ticket.id is not None
    before = ticket.state
    reopening = to is REOPEN_TO and can_reopen(ticket)
    if not reopening:
        check_transition(ticket, to, note)
    ticket.state = to
    ticket.updated_at = now
    if to is TicketState.RESOLVED:
        ticket.resolved_at = now
        if ticket.severity is Severity.MAJOR:
            ticket.remediation_plan = note or ticket.remediation_plan
    if to is TicketState.CLOSED:
        ticket.closed_at = now
    if reopening:
        ticket.resolved_at = ticket.closed_at = None
    events = [
        TicketEvent(
            ticket.id,
            now,
            actor,
            EventKind.REOPENED if reopening else EventKind.TRANSITION,
            before,
            to,
            note,
        )
    ]
    if ticket.first_response_at is None and actor.startswith("staff:"):
        ticket.first_response_at = now
        events.append(TicketEvent(ticket.id, now, actor, EventKind.FIRST_RESPONSE))
    for event in events:
        await uow.tickets.add_event(event)
    await uow.tickets.update(ticket)
    replies: list[Reply] = []
    jobs: list[JobRequest] = []
    customer = await uow.customers.get(ticket.customer_id)
    if to in CUSTOMER_VISIBLE and customer is not None:
        key = "ticket.update.reopened" if reopening else f"ticket.update.{to.value}"
        name = customer.first_name or customer.display_name
        locale = customer_locale(customer, policies.locale.default_locale, locales)
        replies.append(
            Reply(
                key,
                {"name": name, "number": ticket.number, "note": note},
                chat_id=ticket.chat_id,
                locale=locale,
            )
        )
        if to is TicketState.RESOLVED:  # SPEC §6 rating, once per ticket; §4 revisit
            if await uow.ratings.get(ticket.id) is None:
                replies.append(
                    prompts.question(ticket.id, ticket.number, name, ticket.chat_id, locale)
                )
            due = revisit_due(now, policies.ratings.revisit_after_days)
            await uow.ratings.plan_revisit(ticket.id, ticket.customer_id, due)
            jobs.append(JobRequest(revisit_job_id(ticket.id), REVISIT_TARGET, due, (ticket.id,)))
    return Outcome(ticket, replies, jobs)


async def record_plan(
    uow: UnitOfWork, ticket: Ticket, plan: str, *, actor: str, now: datetime
) -> Outcome:
    """Keeps the written remediation plan (required to resolve a major complaint)."""
    assert ticket.id is not None
    ticket.remediation_plan = plan
    ticket.updated_at = now
    await uow.tickets.add_event(
        TicketEvent(ticket.id, now, actor, EventKind.NOTE, note=plan, data={"plan": True})
    )
    await uow.tickets.update(ticket)
    return Outcome(ticket)
