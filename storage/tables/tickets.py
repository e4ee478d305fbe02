"""Tables of complaint handling: tickets and their append-only event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel


class TicketRow(StorageModel, table=True):
    """A ticket (:class:`bot.core.tickets.Ticket`). ``number`` is derived from the id."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index(None, "customer_id", "state"),
        Index(None, "state"),
        Index(None, "created_at"),
        Index(None, "number", unique=True),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    number: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    customer_id: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("customer.id", ondelete="CASCADE"), nullable=False
        )
    )
    chat_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    severity: str = Field(sa_column=Column(String(16), nullable=False))
    priority: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(24), nullable=False))
    level: int = Field(sa_column=Column(Integer(), nullable=False))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    category: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    summary: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    order_ref: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    attachments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    department: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    negativity: float = Field(sa_column=Column(Float(), nullable=False))
    signals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contacts: int = Field(sa_column=Column(Integer(), nullable=False))
    remediation_plan: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    first_response_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolution_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    first_response_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    resolved_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    closed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    first_response_warned_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    resolution_warned_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    first_response_breached_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    resolution_breached_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class TicketEventRow(StorageModel, table=True):
    """One entry of a ticket's history (:class:`bot.core.tickets.TicketEvent`); rows are only
    ever inserted."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index(None, "ticket_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    ticket_id: int = Field(
        sa_column=Column(BigInteger(), ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    from_state: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    to_state: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
