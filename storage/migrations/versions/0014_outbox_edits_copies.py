"""The outbox also carries edits and copies: every handler reply goes through it (issue #9).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("edit_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("copy_from_chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("copy_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("copy_message_id")
        batch.drop_column("copy_from_chat_id")
        batch.drop_column("edit_message_id")
