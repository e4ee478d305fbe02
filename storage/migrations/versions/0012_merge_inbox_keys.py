"""Join the inbox of accepted updates (0011) and the key check (0011k) into one head.

Revision ID: 0012
Revises: 0011, 0011k
Create Date: 2026-12-01

Built side by side from 0010; this revision changes no schema.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | Sequence[str] | None = ("0011", "0011k")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: a merge point."""


def downgrade() -> None:
    """Nothing to undo: a merge point."""
