"""Tables of the conversation core: customers, the message log, dialogue state and requests
for a person (records of :mod:`bot.core.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel


class CustomerRow(StorageModel, table=True):
    """A customer (:class:`bot.core.models.Customer`)."""

    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("telegram_user_id"),
        UniqueConstraint("customer_ref"),
        Index(None, "chat_id"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    display_name: str = Field(sa_column=Column(String(255), nullable=False))
    first_name: str = Field(sa_column=Column(String(255), nullable=False))
    username: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    language: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    language_code: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    timezone: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    reachability: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    customer_ref: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class MessageLogRow(StorageModel, table=True):
    """One inbound or outbound message (:class:`bot.core.models.LoggedMessage`).

    ``update_id`` is UNIQUE but nullable: outbound rows carry NULL, and both SQLite and
    PostgreSQL allow any number of NULLs under a plain UNIQUE constraint. Deleting a customer
    deletes their log (data erasure, SPEC §12).
    """

    __tablename__ = "message_log"
    __table_args__ = (
        UniqueConstraint("update_id"),
        Index(None, "chat_id", "at"),
        Index(None, "customer_id"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    text: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    telegram_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    customer_id: int | None = Field(
        default=None,
        sa_column=Column(
            surrogate_key(), ForeignKey("customer.id", ondelete="CASCADE"), nullable=True
        ),
    )
    template_key: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    content: str = Field(sa_column=Column(String(32), nullable=False))
    handled_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ConversationRow(StorageModel, table=True):
    """Where a chat stands in a multi-step dialogue (:class:`bot.core.models.Conversation`).
    One row per chat; ``data`` is JSON (``JSON`` on both databases, no JSON1 functions)."""

    __tablename__ = "conversation"

    chat_id: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    flow: str = Field(sa_column=Column(String(64), nullable=False))
    step: str = Field(sa_column=Column(String(64), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SupportRequestRow(StorageModel, table=True):
    """A message handed to a person (:class:`bot.core.models.SupportRequest`)."""

    __tablename__ = "support_request"
    __table_args__ = (Index(None, "customer_id", "status"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    customer_id: int = Field(
        sa_column=Column(
            surrogate_key(), ForeignKey("customer.id", ondelete="CASCADE"), nullable=False
        )
    )
    chat_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    reason: str = Field(sa_column=Column(String(32), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
