"""Coupons (SPEC §9; :mod:`bot.core.coupons`): one row per issued coupon, owned by one
customer, with where it came from (``source`` and ``source_ref``, unique together: a rule's
message issues one coupon however often the job runs) and, once an order carries it, the
redemption (order, amount, moment). Amounts are integer cents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String, UniqueConstraint
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class CouponRow(StorageModel, table=True):
    __tablename__ = "coupon"
    __table_args__ = (
        UniqueConstraint("code"),
        UniqueConstraint("source", "source_ref"),
        Index(None, "customer_id"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    code: str = Field(sa_column=Column(String(24), nullable=False))
    customer_id: int = Field(sa_column=_customer_fk())
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    value: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    min_spend_cents: int = Field(sa_column=Column(BigInteger(), nullable=False))
    valid_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    valid_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    source_ref: str = Field(sa_column=Column(String(160), nullable=False))
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    redeemed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    redeemed_order_id: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True)
    )
    redeemed_amount_cents: int | None = Field(
        default=None, sa_column=Column(BigInteger(), nullable=True)
    )
