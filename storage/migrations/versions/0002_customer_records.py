"""Customer records, imported orders and RFM value tiers (issue #5).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02

The ``customer`` table gains the shop's ``customer_ref`` (unique, optional) and its Telegram
ids become optional (an imported customer has none until linked); SQLite alters it in batch
mode (the table is recreated), PostgreSQL with plain ALTERs. New tables: contact data (only
ciphertext and blind indexes), orders, per-day paid buckets, running RFM totals, the window
watermark, current tiers and tier history. Self-contained: no import of storage.tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customer.id"],
        name=op.f(f"fk_{table}_customer_id_customer"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column("customer_ref", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_customer_customer_ref"), ["customer_ref"])

    op.create_table(
        "customer_profile",
        sa.Column("customer_id", _id(), autoincrement=False, nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_index", sa.LargeBinary(16), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_index", sa.LargeBinary(16), nullable=True),
        sa.Column("birthday_enc", sa.LargeBinary(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("marketing_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_profile")),
        _customer_fk("customer_profile"),
    )
    op.create_index(op.f("ix_customer_profile_phone_index"), "customer_profile", ["phone_index"])
    op.create_index(op.f("ix_customer_profile_email_index"), "customer_profile", ["email_index"])

    op.create_table(
        "customer_order",
        sa.Column("id", _id(), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("customer_id", _id(), autoincrement=False, nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("coupon_code", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_order")),
        sa.UniqueConstraint("order_id", name=op.f("uq_customer_order_order_id")),
        _customer_fk("customer_order"),
    )
    op.create_index(op.f("ix_customer_order_customer_id"), "customer_order", ["customer_id"])

    op.create_table(
        "customer_paid_day",
        sa.Column("customer_id", _id(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "day", name=op.f("pk_customer_paid_day")),
        _customer_fk("customer_paid_day"),
    )
    op.create_index(op.f("ix_customer_paid_day_day"), "customer_paid_day", ["day"])

    op.create_table(
        "customer_rfm",
        sa.Column("customer_id", _id(), autoincrement=False, nullable=False),
        sa.Column("first_paid_day", sa.Date(), nullable=True),
        sa.Column("last_paid_day", sa.Date(), nullable=True),
        sa.Column("window_orders", sa.Integer(), nullable=False),
        sa.Column("window_amount_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_rfm")),
        _customer_fk("customer_rfm"),
    )

    op.create_table(
        "rfm_window",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("window_through", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfm_window")),
    )

    op.create_table(
        "customer_tier",
        sa.Column("customer_id", _id(), autoincrement=False, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("segment", sa.String(32), nullable=True),
        sa.Column("lifecycle", sa.String(16), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), nullable=False),
        sa.Column("r_score", sa.SmallInteger(), nullable=True),
        sa.Column("f_score", sa.SmallInteger(), nullable=True),
        sa.Column("m_score", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_tier")),
        _customer_fk("customer_tier"),
    )
    op.create_index(op.f("ix_customer_tier_tier"), "customer_tier", ["tier"])

    op.create_table(
        "customer_tier_history",
        sa.Column("id", _id(), nullable=False),
        sa.Column("customer_id", _id(), autoincrement=False, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("old_tier", sa.String(16), nullable=True),
        sa.Column("new_tier", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_tier_history")),
        _customer_fk("customer_tier_history"),
    )
    op.create_index(
        op.f("ix_customer_tier_history_customer_id_as_of"),
        "customer_tier_history",
        ["customer_id", "as_of"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_customer_tier_history_customer_id_as_of"), table_name="customer_tier_history"
    )
    op.drop_table("customer_tier_history")
    op.drop_index(op.f("ix_customer_tier_tier"), table_name="customer_tier")
    op.drop_table("customer_tier")
    op.drop_table("rfm_window")
    op.drop_table("customer_rfm")
    op.drop_index(op.f("ix_customer_paid_day_day"), table_name="customer_paid_day")
    op.drop_table("customer_paid_day")
    op.drop_index(op.f("ix_customer_order_customer_id"), table_name="customer_order")
    op.drop_table("customer_order")
    op.drop_index(op.f("ix_customer_profile_email_index"), table_name="customer_profile")
    op.drop_index(op.f("ix_customer_profile_phone_index"), table_name="customer_profile")
    op.drop_table("customer_profile")
    # Customers without Telegram ids cannot survive the old schema.
    op.execute("DELETE FROM customer WHERE telegram_user_id IS NULL OR chat_id IS NULL")
    with op.batch_alter_table("customer") as batch:
        batch.drop_constraint(op.f("uq_customer_customer_ref"), type_="unique")
        batch.drop_column("customer_ref")
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=False)
