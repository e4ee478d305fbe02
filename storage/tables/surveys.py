"""Satisfaction surveys (:mod:`bot.core.surveys`): one row per survey sent, unique per
(customer, rule, period) like its message's key, with the tier at the send and the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class NpsSurveyRow(StorageModel, table=True):
    __tablename__ = "nps_survey"
    __table_args__ = (
        UniqueConstraint("customer_id", "rule_id", "period"),
        Index(None, "sent_at"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    customer_id: int = Field(sa_column=_customer_fk())
    rule_id: str = Field(sa_column=Column(String(48), nullable=False))
    period: str = Field(sa_column=Column(String(64), nullable=False))
    tier: str = Field(sa_column=Column(String(16), nullable=False))
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    score: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    answered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    comment: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
