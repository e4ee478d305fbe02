"""Records the core works with. Plain dataclasses: storage maps them to tables.

Times are timezone-aware UTC everywhere inside the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Reachability(StrEnum):
    REACHABLE = "reachable"
    BLOCKED = "blocked"
    CHAT_GONE = "chat_gone"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class RequestReason(StrEnum):
    """Why a customer's message was handed to a person."""

    FAQ_MISS = "faq_miss"
    FAQ_REJECTED = "faq_rejected"
    ASKED_FOR_PERSON = "asked_for_person"
    ATTACHMENT = "attachment"


class RequestStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


@dataclass(slots=True)
class Customer:
    """A person who writes to the bot. `language` is the locale they chose, if any;
    `language_code` is what their Telegram client reports. A customer imported from the shop
    has a `customer_ref` and no Telegram ids until they are linked (None)."""

    telegram_user_id: int | None
    chat_id: int | None
    display_name: str
    first_name: str
    created_at: datetime
    updated_at: datetime
    id: int | None = None
    username: str | None = None
    language: str | None = None
    language_code: str | None = None
    timezone: str | None = None
    reachability: Reachability = Reachability.REACHABLE
    customer_ref: str | None = None


COPY = "copy"
"""``LoggedMessage.content`` of a copy the bot made of someone's message (the desk's relays)."""


@dataclass(slots=True)
class LoggedMessage:
    """One inbound or outbound message. Inbound rows carry the Telegram `update_id`, which is
    unique, so a re-delivered update is handled once; `handled_at` is set when its replies
    have been produced."""

    direction: Direction
    chat_id: int
    at: datetime
    text: str | None = None
    telegram_message_id: int | None = None
    update_id: int | None = None
    customer_id: int | None = None
    template_key: str | None = None
    content: str = "text"
    handled_at: datetime | None = None
    id: int | None = None


@dataclass(slots=True)
class Conversation:
    """Where a chat stands in a multi-step dialogue; kept in the database so any worker, after
    any restart, continues it. `flow` names the dialogue, `step` the point in it."""

    chat_id: int
    flow: str
    step: str
    updated_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SupportRequest:
    """A message the bot could not settle by itself and promised a person would answer."""

    customer_id: int
    chat_id: int
    text: str
    reason: RequestReason
    created_at: datetime
    due_at: datetime
    status: RequestStatus = RequestStatus.OPEN
    id: int | None = None
