"""Product news items, carried by the mid tier's playbook rule (``content: news``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

Hand-written and self-contained, portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "news_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_item")),
    )
    op.create_index(op.f("ix_news_item_created_at"), "news_item", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_news_item_created_at"), table_name="news_item")
    op.drop_table("news_item")
