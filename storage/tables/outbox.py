"""The outbox: rendered messages waiting to be sent (:mod:`bot.core.outbox`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel


class OutboxRow(StorageModel, table=True):
    """One message the bot decided to send, written in the transaction that decided it.

    ``idempotency_key`` is unique: enqueueing the same decision twice writes one row. The
    message is stored rendered (HTML ``text``, ``buttons`` as JSON ``[[[label, data], …], …]``
    — ``[label, data, url]`` for a link button —,
    the ticket's ``topic`` as JSON ``[ticket_id, title, icon_color]``), so what is sent is what
    was decided, whatever the templates say by then. ``last_error`` holds Telegram's reason
    only, never message content."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_outbox_due", "state", "lane", "not_before"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer(), primary_key=True))
    lane: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    buttons: str = Field(sa_column=Column(Text(), nullable=False))
    parse_mode: str = Field(sa_column=Column(String(16), nullable=False))
    thread_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    topic: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    request_contact: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    remove_keyboard: bool = Field(sa_column=Column(Boolean(), nullable=False))
    about_customer_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    template_key: str = Field(sa_column=Column(String(128), nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(255), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(sa_column=Column(Integer(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    not_before: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    claimed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    telegram_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    edit_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    """Set: the row replaces the text and buttons of this message of the bot's."""
    copy_from_chat_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    copy_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    """Set: the row copies this message (the desk's relay); ``text`` is the new caption."""
    rename_thread_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    """Set: the row renames this forum topic of ``chat_id`` to ``text`` (erasure, issue #14)."""
    delete_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
    """Set: the row deletes this message of the bot's (erasure of a relayed photo or file)."""
