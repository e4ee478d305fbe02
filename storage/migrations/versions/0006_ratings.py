"""Satisfaction ratings of resolved tickets and after-sales revisits.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "ticket_rating",
        sa.Column("id", _id(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_rating_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_ticket_rating_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_rating")),
    )
    op.create_index(
        op.f("ix_ticket_rating_ticket_id"), "ticket_rating", ["ticket_id"], unique=True
    )
    op.create_table(
        "ticket_revisit",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", moment, nullable=False),
        sa.Column("sent_at", moment, nullable=True),
        sa.Column("skipped", sa.String(32), nullable=True),
        sa.Column("answer", sa.String(16), nullable=True),
        sa.Column("answered_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_revisit_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_ticket_revisit_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_revisit")),
    )
    op.create_index(
        op.f("ix_ticket_revisit_sent_at_due_at"), "ticket_revisit", ["sent_at", "due_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_revisit_sent_at_due_at"), table_name="ticket_revisit")
    op.drop_table("ticket_revisit")
    op.drop_index(op.f("ix_ticket_rating_ticket_id"), table_name="ticket_rating")
    op.drop_table("ticket_rating")
