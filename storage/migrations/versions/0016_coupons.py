"""Coupons: issued to one customer by a rule, a campaign or loyalty; redeemed by an order.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "coupon",
        sa.Column("id", _id(), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", moment, nullable=False),
        sa.Column("valid_until", moment, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=160), nullable=False),
        sa.Column("issued_at", moment, nullable=False),
        sa.Column("redeemed_at", moment, nullable=True),
        sa.Column("redeemed_order_id", sa.String(length=64), nullable=True),
        sa.Column("redeemed_amount_cents", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_coupon_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon")),
        sa.UniqueConstraint("code", name=op.f("uq_coupon_code")),
        sa.UniqueConstraint("source", "source_ref", name=op.f("uq_coupon_source_source_ref")),
    )
    op.create_index(op.f("ix_coupon_customer_id"), "coupon", ["customer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_coupon_customer_id"), table_name="coupon")
    op.drop_table("coupon")
