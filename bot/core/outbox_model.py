"""The outbox's rows as the core sees them (the port is
:class:`bot.core.ports.OutboxRepository`; the behaviour is in :mod:`bot.core.outbox`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.messages import Outgoing


class Lane(StrEnum):
    """Service messages (answers, staff alerts) go before proactive ones (revisits,
    campaigns)."""

    SERVICE = "service"
    PROACTIVE = "proactive"


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    PAUSED = "paused"
    """Held back by its campaign's pause: never due, and pending again on resume."""


@dataclass(slots=True)
class OutboxMessage:
    """One outbox row: a rendered message and what became of it."""

    key: str
    """The idempotency key; unique across the outbox."""
    lane: Lane
    message: Outgoing
    created_at: datetime
    not_before: datetime
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    telegram_message_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """What ``rapport outbox status`` shows."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    """(lane, state) → rows."""
    oldest_pending: datetime | None = None
    last_errors: list[tuple[int, str, str]] = field(default_factory=list)
    """(id, state, last_error) of the latest failed or skipped rows, newest first."""
    failing_chats: list[tuple[int, int, str]] = field(default_factory=list)
    """(chat_id, rows, latest error) for each watched chat (the staff chats) with rows that
    failed, were skipped, or wait to be tried again after a failure; by chat id."""
