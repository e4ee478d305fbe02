"""Join the feature branches (customer records, scheduler lease, tickets) into one head.

Revision ID: 0005
Revises: 0002, 0003, 0004
Create Date: 2026-11-22

The three features were built side by side, each branching from 0001; this revision changes
no schema. New migrations revise 0005, so plain ``alembic upgrade head`` works again.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0002", "0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: a merge point."""


def downgrade() -> None:
    """Nothing to undo: a merge point."""
