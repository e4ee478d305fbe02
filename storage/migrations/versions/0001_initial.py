"""Initial schema: customer, message_log, conversation, support_request.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Hand-written and self-contained (no import of storage.tables: a migration must keep
describing the schema as it was, whatever the models become). Portable between SQLite and
PostgreSQL: BIGINT Telegram ids, VARCHAR enums, TIMESTAMP WITH TIME ZONE, generic JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.BigInteger:
    """Surrogate keys: BIGINT, but INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", _id(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("language_code", sa.String(16), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("reachability", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_customer_telegram_user_id")),
    )
    op.create_index(op.f("ix_customer_chat_id"), "customer", ["chat_id"])

    op.create_table(
        "message_log",
        sa.Column("id", _id(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_id", _id(), nullable=True),
        sa.Column("template_key", sa.String(128), nullable=True),
        sa.Column("content", sa.String(32), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_log")),
        sa.UniqueConstraint("update_id", name=op.f("uq_message_log_update_id")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_message_log_customer_id_customer"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_message_log_chat_id_at"), "message_log", ["chat_id", "at"])
    op.create_index(op.f("ix_message_log_customer_id"), "message_log", ["customer_id"])

    op.create_table(
        "conversation",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_conversation")),
    )

    op.create_table(
        "support_request",
        sa.Column("id", _id(), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_request")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_support_request_customer_id_customer"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_support_request_customer_id_status"),
        "support_request",
        ["customer_id", "status"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_support_request_customer_id_status"), table_name="support_request")
    op.drop_table("support_request")
    op.drop_table("conversation")
    op.drop_index(op.f("ix_message_log_customer_id"), table_name="message_log")
    op.drop_index(op.f("ix_message_log_chat_id_at"), table_name="message_log")
    op.drop_table("message_log")
    op.drop_index(op.f("ix_customer_chat_id"), table_name="customer")
    op.drop_table("customer")
