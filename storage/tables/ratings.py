"""Tables of satisfaction: ratings of resolved tickets and after-sales revisits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel


class TicketRatingRow(StorageModel, table=True):
    """A customer's rating of a ticket (:class:`bot.core.ratings.Rating`); one per ticket."""

    __tablename__ = "ticket_rating"
    __table_args__ = (Index(None, "ticket_id", unique=True),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    ticket_id: int = Field(
        sa_column=Column(BigInteger(), ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    )
    customer_id: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("customer.id", ondelete="CASCADE"), nullable=False
        )
    )
    score: int = Field(sa_column=Column(Integer(), nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    rated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TicketRevisitRow(StorageModel, table=True):
    """A ticket's after-sales revisit (:class:`bot.core.ratings.Revisit`): planned at each
    resolution, claimed once (``sent_at``) by whoever sends it."""

    __tablename__ = "ticket_revisit"
    __table_args__ = (Index(None, "sent_at", "due_at"),)

    ticket_id: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True
        )
    )
    customer_id: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("customer.id", ondelete="CASCADE"), nullable=False
        )
    )
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    skipped: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    answer: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    answered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
