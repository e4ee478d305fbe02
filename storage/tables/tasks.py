"""Staff tasks (:mod:`bot.core.staff_tasks`): an advisor's monthly check-in, a senior person's
call-back, a detractor's follow-up. Unique per (kind, customer, period): the playbook opens
each once however often it runs. The assignee and the person who acted are staff Telegram user
ids; the reason holds no personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String, UniqueConstraint
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class StaffTaskRow(StorageModel, table=True):
    __tablename__ = "staff_task"
    __table_args__ = (
        UniqueConstraint("kind", "customer_id", "period"),
        Index(None, "state", "opened_at"),
        Index(None, "customer_id"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    customer_id: int = Field(sa_column=_customer_fk())
    period: str = Field(sa_column=Column(String(64), nullable=False))
    assignee: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    chat_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    rule_id: str | None = Field(default=None, sa_column=Column(String(48), nullable=True))
    reason: str = Field(sa_column=Column(String(200), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    choice: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    acted_by: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    acted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
