"""The agent desk's table: which agent has taken over which customer's chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel


class TakeoverRow(StorageModel, table=True):
    """An active take-over (:class:`bot.core.desk.Takeover`); one per customer chat."""

    __tablename__ = "takeover"
    __table_args__ = (Index(None, "agent_user_id"),)

    customer_chat_id: int = Field(sa_column=Column(BigInteger(), primary_key=True))
    customer_id: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("customer.id", ondelete="CASCADE"), nullable=False
        )
    )
    ticket_id: int = Field(
        sa_column=Column(BigInteger(), ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    )
    agent_user_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
