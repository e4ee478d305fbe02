"""Tables of customer records, imported orders and value tiers (issue #5; SPEC §2, §3, §12).

* ``customer_profile`` — one row per customer with contact data: phone, e-mail and birthday
  only as AES-GCM ciphertext (``*_enc``), phone and e-mail also as a keyed blind index
  (``*_index``, HMAC-SHA256) for lookups; tags and marketing consent in the clear.
* ``customer_order`` — the shop's orders, keyed by the shop's ``order_id``.
* ``customer_paid_day`` — per customer and UTC day: paid orders and paid cents (the buckets of
  :mod:`bot.core.tiers`); ``customer_rfm`` — the running totals per customer; ``rfm_window`` —
  the one watermark row (the date the running totals are valid for).
* ``customer_tier`` — each customer's standing at the last recompute; ``customer_tier_history``
  — every change of tier.

Amounts are integer cents (BIGINT): sums stay exact on both databases.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel


def _customer_fk(*, primary_key: bool = False) -> Column[Any]:
    return Column(
        "customer_id",
        surrogate_key(),
        ForeignKey("customer.id", ondelete="CASCADE"),
        primary_key=primary_key,
        autoincrement=False,
        nullable=False,
    )


class CustomerProfileRow(StorageModel, table=True):
    __tablename__ = "customer_profile"
    __table_args__ = (Index(None, "phone_index"), Index(None, "email_index"))

    customer_id: int = Field(sa_column=_customer_fk(primary_key=True))
    phone_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    phone_index: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary(16), nullable=True)
    )
    email_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    email_index: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary(16), nullable=True)
    )
    birthday_enc: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary(), nullable=True)
    )
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON(), nullable=False))
    marketing_consent: bool = Field(sa_column=Column(Boolean(), nullable=False))
    marketing_consent_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class CustomerOrderRow(StorageModel, table=True):
    __tablename__ = "customer_order"
    # (customer_id, created_at): a customer's orders, and whether one is older than a moment
    # (profile.first_orders_since); migration 0024.
    __table_args__ = (UniqueConstraint("order_id"), Index(None, "customer_id", "created_at"))

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    order_id: str = Field(sa_column=Column(String(64), nullable=False))
    customer_id: int = Field(sa_column=_customer_fk())
    amount_cents: int = Field(sa_column=Column(BigInteger(), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    paid_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    coupon_code: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class CustomerPaidDayRow(StorageModel, table=True):
    __tablename__ = "customer_paid_day"
    __table_args__ = (Index(None, "day"),)

    customer_id: int = Field(sa_column=_customer_fk(primary_key=True))
    day: date = Field(sa_column=Column(Date(), primary_key=True, autoincrement=False))
    orders: int = Field(sa_column=Column(Integer(), nullable=False))
    amount_cents: int = Field(sa_column=Column(BigInteger(), nullable=False))


class CustomerRfmRow(StorageModel, table=True):
    __tablename__ = "customer_rfm"

    customer_id: int = Field(sa_column=_customer_fk(primary_key=True))
    first_paid_day: date | None = Field(default=None, sa_column=Column(Date(), nullable=True))
    last_paid_day: date | None = Field(default=None, sa_column=Column(Date(), nullable=True))
    window_orders: int = Field(sa_column=Column(Integer(), nullable=False))
    window_amount_cents: int = Field(sa_column=Column(BigInteger(), nullable=False))


class RfmWindowRow(StorageModel, table=True):
    __tablename__ = "rfm_window"

    id: int = Field(sa_column=Column(Integer(), primary_key=True, autoincrement=False))
    window_through: date = Field(sa_column=Column(Date(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CustomerTierRow(StorageModel, table=True):
    __tablename__ = "customer_tier"
    __table_args__ = (Index(None, "tier"),)

    customer_id: int = Field(sa_column=_customer_fk(primary_key=True))
    as_of: date = Field(sa_column=Column(Date(), nullable=False))
    tier: str = Field(sa_column=Column(String(16), nullable=False))
    segment: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    lifecycle: str = Field(sa_column=Column(String(16), nullable=False))
    recency_days: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    frequency: int = Field(sa_column=Column(Integer(), nullable=False))
    monetary_cents: int = Field(sa_column=Column(BigInteger(), nullable=False))
    r_score: int | None = Field(default=None, sa_column=Column(SmallInteger(), nullable=True))
    f_score: int | None = Field(default=None, sa_column=Column(SmallInteger(), nullable=True))
    m_score: int | None = Field(default=None, sa_column=Column(SmallInteger(), nullable=True))


class CustomerTierHistoryRow(StorageModel, table=True):
    __tablename__ = "customer_tier_history"
    __table_args__ = (Index(None, "customer_id", "as_of"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    customer_id: int = Field(sa_column=_customer_fk())
    as_of: date = Field(sa_column=Column(Date(), nullable=False))
    old_tier: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    new_tier: str = Field(sa_column=Column(String(16), nullable=False))
