"""Profile completion: one row per field asked of a customer, with what became of it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "profile_ask",
        sa.Column("customer_id", key, autoincrement=False, nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("asked_at", moment, nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_profile_ask_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "field", name=op.f("pk_profile_ask")),
    )


def downgrade() -> None:
    op.drop_table("profile_ask")
