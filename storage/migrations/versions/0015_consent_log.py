"""The marketing consent log: every opt-out and opt-in with its moment and source.

Revision ID: 0015
Revises: 0014t
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "marketing_consent_log",
        sa.Column("id", _id(), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_marketing_consent_log_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_consent_log")),
    )
    op.create_index(
        op.f("ix_marketing_consent_log_customer_id_at"),
        "marketing_consent_log",
        ["customer_id", "at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_marketing_consent_log_customer_id_at"), table_name="marketing_consent_log"
    )
    op.drop_table("marketing_consent_log")
