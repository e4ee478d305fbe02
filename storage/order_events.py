"""Applying one pushed order event (issue #10; rules in :mod:`bot.core.order_events`).

In one transaction: the stored order is read, merged with the event
(:func:`bot.core.order_events.merged`: statuses only move forward) and written through the
import's own write path (:func:`storage.customers_import.upsert_orders`), so the RFM buckets
and running totals are exactly what ``rapport import orders`` leaves for the same final state,
and a repeated event is recognised as unchanged and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.importing import OrderIn
from bot.core.order_events import OrderEvent, merged
from bot.core.records import OrderStatus
from bot.core.tiers import TierPolicy
from storage.customers_import import upsert_orders
from storage.import_files import ImportReport
from storage.tables import metadata

ORDERS: Table = metadata.tables["customer_order"]
CUSTOMERS: Table = metadata.tables["customer"]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What the event did to its order: ``created``, ``updated`` or ``unchanged``, and the
    order's status afterwards."""

    order_id: str
    result: str
    status: OrderStatus


async def stored_order(conn: AsyncConnection, order_id: str) -> OrderIn | None:
    """The stored order as the import would read it from a file, or None."""
    stmt = (
        select(ORDERS, CUSTOMERS.c.customer_ref)
        .join(CUSTOMERS, CUSTOMERS.c.id == ORDERS.c.customer_id)
        .where(ORDERS.c.order_id == order_id)
    )
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return None
    return OrderIn(
        order_id=row["order_id"],
        customer_ref=row["customer_ref"],
        amount_cents=row["amount_cents"],
        currency=row["currency"],
        status=OrderStatus(row["status"]),
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        delivered_at=row["delivered_at"],
        coupon_code=row["coupon_code"],
    )


async def apply_order_event(
    engine: AsyncEngine, event: OrderEvent, *, now: datetime, policy: TierPolicy | None = None
) -> EventOutcome:
    """Merges `event` into its order and writes the result, in one transaction. Raises
    :class:`~bot.core.order_events.EventError` (nothing written) when the event names another
    customer than the stored order."""
    async with engine.begin() as conn:
        state = merged(await stored_order(conn, event.order.order_id), event.order)
        report = ImportReport()
        await upsert_orders(conn, {state.order_id: state}, now=now, policy=policy, report=report)
    result = "created" if report.created else "updated" if report.updated else "unchanged"
    return EventOutcome(state.order_id, result, state.status)
