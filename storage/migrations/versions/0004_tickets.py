"""Tickets and their event history (complaint handling, SLA).

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "ticket",
        sa.Column("id", _id(), nullable=False),
        sa.Column("number", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("summary", sa.String(255), nullable=True),
        sa.Column("order_ref", sa.String(64), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("negativity", sa.Float(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("remediation_plan", sa.Text(), nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("first_response_due_at", moment, nullable=False),
        sa.Column("resolution_due_at", moment, nullable=False),
        sa.Column("first_response_at", moment, nullable=True),
        sa.Column("resolved_at", moment, nullable=True),
        sa.Column("closed_at", moment, nullable=True),
        sa.Column("first_response_warned_at", moment, nullable=True),
        sa.Column("resolution_warned_at", moment, nullable=True),
        sa.Column("first_response_breached_at", moment, nullable=True),
        sa.Column("resolution_breached_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_ticket_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
    )
    op.create_index(op.f("ix_ticket_customer_id_state"), "ticket", ["customer_id", "state"])
    op.create_index(op.f("ix_ticket_state"), "ticket", ["state"])
    op.create_index(op.f("ix_ticket_created_at"), "ticket", ["created_at"])
    op.create_index(op.f("ix_ticket_number"), "ticket", ["number"], unique=True)

    op.create_table(
        "ticket_event",
        sa.Column("id", _id(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("at", moment, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("from_state", sa.String(24), nullable=True),
        sa.Column("to_state", sa.String(24), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_event_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_event")),
    )
    op.create_index(op.f("ix_ticket_event_ticket_id_id"), "ticket_event", ["ticket_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_event_ticket_id_id"), table_name="ticket_event")
    op.drop_table("ticket_event")
    op.drop_index(op.f("ix_ticket_number"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_created_at"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_state"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_customer_id_state"), table_name="ticket")
    op.drop_table("ticket")
