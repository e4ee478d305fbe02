"""Profile completion (:mod:`bot.core.profile`): one row per field asked of a customer —
unique per (customer, field), so each field is asked at most once — with what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class ProfileAskRow(StorageModel, table=True):
    __tablename__ = "profile_ask"

    customer_id: int = Field(sa_column=_customer_fk(primary_key=True))
    field: str = Field(sa_column=Column(String(16), primary_key=True, nullable=False))
    asked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    answered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
