"""The marketing consent log (SPEC §8, §12; :mod:`bot.core.consent`): one row per change of a
customer's consent, with its moment and source. The current state is on ``customer_profile``;
this is the history that proves it. Erased with the customer; moves with an imported record
when a Telegram customer is linked to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Index, String
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class MarketingConsentLogRow(StorageModel, table=True):
    __tablename__ = "marketing_consent_log"
    __table_args__ = (Index(None, "customer_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    customer_id: int = Field(sa_column=_customer_fk())
    consent: bool = Field(sa_column=Column(Boolean(), nullable=False))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
