"""The staff forum's topics, one per ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel


class TicketTopicRow(StorageModel, table=True):
    """A ticket's forum topic in the staff group; replaced when the topic is recreated."""

    __tablename__ = "ticket_topic"
    __table_args__ = (UniqueConstraint("chat_id", "thread_id"),)

    ticket_id: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True
        )
    )
    chat_id: int = Field(sa_column=Column(BigInteger(), primary_key=True))
    thread_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
