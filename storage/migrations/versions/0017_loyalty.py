"""The loyalty ledger: points turned into coupons (points earned are derived from orders).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loyalty_redemption",
        sa.Column("id", _id(), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("coupon_code", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_loyalty_redemption_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_redemption")),
    )
    op.create_index(
        op.f("ix_loyalty_redemption_customer_id"), "loyalty_redemption", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_loyalty_redemption_customer_id"), table_name="loyalty_redemption")
    op.drop_table("loyalty_redemption")
