"""Satisfaction ratings and the after-sales revisit (SPEC §4, §6, §8): records and pure rules.

When a ticket is resolved the customer is asked for a rating (1–5) and an optional comment;
a low rating (:func:`is_low`) reopens the ticket and alerts a supervisor. Some days after the
resolution (``revisit_after_days``) the customer is asked how things are: a
:class:`Revisit` records that question once per resolution and its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.tickets import Ticket, TicketState

SCORES = (1, 2, 3, 4, 5)

REVISIT_TARGET = "bot.app.jobs.revisit:send"
"""The scheduler job that sends one ticket's revisit (ids only: the ticket id)."""

RATEABLE_STATES = frozenset({TicketState.RESOLVED, TicketState.CLOSED})
"""A ticket's rating question (and its revisit) stand only while it stays resolved or
closed; once reopened, they are out of date."""


class RevisitAnswer(StrEnum):
    ALL_GOOD = "ok"
    PROBLEM = "problem"


@dataclass(frozen=True, slots=True)
class Rating:
    """A customer's verdict on a resolved ticket; one per ticket."""

    ticket_id: int
    customer_id: int
    score: int
    rated_at: datetime
    comment: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Revisit:
    """The after-sales revisit of a ticket: due `due_at`, claimed (sent or skipped) at
    `sent_at`; `skipped` says why it was not sent; `answer` is the customer's reply."""

    ticket_id: int
    customer_id: int
    due_at: datetime
    sent_at: datetime | None = None
    skipped: str | None = None
    answer: RevisitAnswer | None = None
    answered_at: datetime | None = None


def is_score(value: int) -> bool:
    return value in SCORES


def is_low(score: int, low_at_most: int) -> bool:
    """A rating that reopens the ticket and alerts a supervisor (2 or less by default)."""
    return score <= low_at_most


def may_rate(ticket: Ticket, customer_id: int, now: datetime, window_days: int) -> bool:
    """Whether `customer_id` may still rate `ticket`: their own, resolved or closed, and
    resolved at most `window_days` ago."""
    if ticket.customer_id != customer_id or ticket.state not in RATEABLE_STATES:
        return False
    resolved = ticket.resolved_at or ticket.closed_at or ticket.updated_at
    return now - resolved <= timedelta(days=window_days)


def revisit_due(resolved_at: datetime, after_days: int) -> datetime:
    return resolved_at + timedelta(days=after_days)


def revisit_job_id(ticket_id: int) -> str:
    """The scheduler's job id for a ticket's revisit: resolving again replaces the job."""
    return f"revisit-ticket-{ticket_id}"
