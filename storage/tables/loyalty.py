"""The loyalty ledger (SPEC §9; :mod:`bot.core.loyalty`): one row per conversion of points
into a coupon. Points earned are not stored: they are derived from ``customer_order``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class LoyaltyRedemptionRow(StorageModel, table=True):
    __tablename__ = "loyalty_redemption"
    __table_args__ = (Index(None, "customer_id"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    customer_id: int = Field(sa_column=_customer_fk())
    points: int = Field(sa_column=Column(BigInteger(), nullable=False))
    coupon_code: str = Field(sa_column=Column(String(24), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
