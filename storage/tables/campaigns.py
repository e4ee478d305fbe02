"""Marketing campaigns (SPEC §10; :mod:`bot.core.campaigns`): one row per campaign (its
specification as JSON text, its state and its current run) and one per customer of each
run's frozen audience (what became of them). The messages themselves are outbox rows under
``campaign:<campaign>:<run>:<customer>``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel
from storage.tables.customers import _customer_fk


class CampaignRow(StorageModel, table=True):
    __tablename__ = "campaign"
    __table_args__ = (Index(None, "state", "next_run_at"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    spec: str = Field(sa_column=Column(Text(), nullable=False))
    holdout: float = Field(sa_column=Column(Float(), nullable=False))
    seed: int = Field(sa_column=Column(BigInteger(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    next_run_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    run: int = Field(sa_column=Column(Integer(), nullable=False))
    run_started_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    cursor: int = Field(sa_column=Column(BigInteger(), nullable=False))
    frozen: bool = Field(sa_column=Column(Boolean(), nullable=False))


class CampaignRecipientRow(StorageModel, table=True):
    __tablename__ = "campaign_recipient"
    __table_args__ = (
        UniqueConstraint("campaign_id", "run", "customer_id"),
        Index(None, "campaign_id", "status", "customer_id"),
        Index(None, "customer_id"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    campaign_id: int = Field(
        sa_column=Column(
            surrogate_key(), ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False
        )
    )
    run: int = Field(sa_column=Column(Integer(), nullable=False))
    customer_id: int = Field(sa_column=_customer_fk())
    holdout: bool = Field(sa_column=Column(Boolean(), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(String(64), nullable=False))
    held: bool = Field(sa_column=Column(Boolean(), nullable=False))
    not_before: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
