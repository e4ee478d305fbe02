"""Join ratings (0006) and the agent desk (0007, 0008) into one head.

Revision ID: 0009
Revises: 0006, 0008
Create Date: 2026-11-22

Built side by side from 0005; this revision changes no schema.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | Sequence[str] | None = ("0006", "0008")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: a merge point."""


def downgrade() -> None:
    """Nothing to undo: a merge point."""
