"""Orders indexed by (customer_id, created_at) instead of customer_id alone.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02

``profile.first_orders_since`` (the profile playbook's "first order since" audience) asks,
per customer, whether an order older than a moment exists; with this index that is one index
probe per customer instead of an aggregate over the whole ``customer_order`` table per page.
The new index starts with ``customer_id``, so it serves everything the old one did (the
foreign key's cascade, a customer's orders), and the old one is dropped: one index fewer for
every imported order to maintain. Plain ``CREATE/DROP INDEX``, the same on SQLite and
PostgreSQL; hand-written and self-contained.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_customer_order_customer_id_created_at"),
        "customer_order",
        ["customer_id", "created_at"],
    )
    op.drop_index(op.f("ix_customer_order_customer_id"), table_name="customer_order")


def downgrade() -> None:
    op.create_index(op.f("ix_customer_order_customer_id"), "customer_order", ["customer_id"])
    op.drop_index(op.f("ix_customer_order_customer_id_created_at"), table_name="customer_order")
