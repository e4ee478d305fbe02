"""Staff tasks: an advisor's check-in, a senior person's call-back, a detractor's follow-up.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "staff_task",
        sa.Column("id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.String(length=48), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=True),
        sa.Column("acted_by", sa.BigInteger(), nullable=True),
        sa.Column("opened_at", moment, nullable=False),
        sa.Column("acted_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_staff_task_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_task")),
        sa.UniqueConstraint(
            "kind", "customer_id", "period", name=op.f("uq_staff_task_kind_customer_id_period")
        ),
    )
    op.create_index(op.f("ix_staff_task_customer_id"), "staff_task", ["customer_id"])
    op.create_index(op.f("ix_staff_task_state_opened_at"), "staff_task", ["state", "opened_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_task_state_opened_at"), table_name="staff_task")
    op.drop_index(op.f("ix_staff_task_customer_id"), table_name="staff_task")
    op.drop_table("staff_task")
