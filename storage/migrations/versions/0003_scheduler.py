"""Scheduler: the job-runner lease (one leader among processes sharing the database).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22

APScheduler's job store table (``apscheduler_jobs``) is not created here: APScheduler creates
and owns it (see storage/tables/scheduling.py). Self-contained and portable (SQLite and
PostgreSQL): VARCHAR key, TIMESTAMP WITH TIME ZONE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lease")
