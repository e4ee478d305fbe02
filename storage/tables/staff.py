"""Tables of the staff side: the roster, dedicated advisors and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel


class StaffMemberRow(StorageModel, table=True):
    """A roster entry (:class:`bot.core.roles.StaffMember`)."""

    __tablename__ = "staff_member"
    __table_args__ = (UniqueConstraint("telegram_user_id"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    telegram_user_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    active: bool = Field(sa_column=Column(Boolean(), nullable=False))
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CustomerAdvisorRow(StorageModel, table=True):
    """A high-tier customer's dedicated advisor: their tickets go to this person first."""

    __tablename__ = "customer_advisor"

    customer_id: int = Field(
        sa_column=Column(
            BigInteger(),
            ForeignKey("customer.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    staff_user_id: int = Field(sa_column=Column(BigInteger(), nullable=False))


class StaffAuditRow(StorageModel, table=True):
    """Every staff action attempted, allowed or not; rows are only ever inserted."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index(None, "telegram_user_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    telegram_user_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    allowed: bool = Field(sa_column=Column(Boolean(), nullable=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    detail: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
