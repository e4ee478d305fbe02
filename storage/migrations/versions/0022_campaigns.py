"""Marketing campaigns (issue #11): the campaign and its frozen recipients.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL. (Another branch adds
0020 and 0021 in parallel; the merge relinks this one after them.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "campaign",
        sa.Column("id", _id(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("holdout", sa.Float(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", moment, nullable=True),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("run_started_at", moment, nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_index(op.f("ix_campaign_state_next_run_at"), "campaign", ["state", "next_run_at"])
    op.create_table(
        "campaign_recipient",
        sa.Column("id", _id(), nullable=False),
        sa.Column("campaign_id", _id(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("not_before", moment, nullable=True),
        sa.Column("decided_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_recipient_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_campaign_recipient_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipient")),
        sa.UniqueConstraint(
            "campaign_id",
            "run",
            "customer_id",
            name=op.f("uq_campaign_recipient_campaign_id_run_customer_id"),
        ),
    )
    op.create_index(
        op.f("ix_campaign_recipient_campaign_id_status_customer_id"),
        "campaign_recipient",
        ["campaign_id", "status", "customer_id"],
    )
    op.create_index(
        op.f("ix_campaign_recipient_customer_id"), "campaign_recipient", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_recipient_customer_id"), table_name="campaign_recipient")
    op.drop_index(
        op.f("ix_campaign_recipient_campaign_id_status_customer_id"),
        table_name="campaign_recipient",
    )
    op.drop_table("campaign_recipient")
    op.drop_index(op.f("ix_campaign_state_next_run_at"), table_name="campaign")
    op.drop_table("campaign")
