"""Satisfaction surveys by tier: one row per survey sent, with its answer and comment.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "nps_survey",
        sa.Column("id", key, nullable=False),
        sa.Column("customer_id", key, nullable=False),
        sa.Column("rule_id", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("sent_at", moment, nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answered_at", moment, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_nps_survey_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nps_survey")),
        sa.UniqueConstraint(
            "customer_id",
            "rule_id",
            "period",
            name=op.f("uq_nps_survey_customer_id_rule_id_period"),
        ),
    )
    op.create_index(op.f("ix_nps_survey_sent_at"), "nps_survey", ["sent_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_nps_survey_sent_at"), table_name="nps_survey")
    op.drop_table("nps_survey")
