"""Keeping the RFM aggregates current as paid orders come and go (contract in
:mod:`bot.core.tiers`).

Per-day buckets ``customer_paid_day`` and running totals ``customer_rfm`` for the window that
ends at the watermark ``rfm_window.window_through``. :func:`apply_deltas` adds a batch's changes
of paid orders and cents to both; an order that stops counting (refunded, cancelled) subtracts,
and if that empties a customer's first or last day those two dates are recomputed from that
customer's buckets alone. The nightly roll of the window and the full rebuild from the buckets
are part of the recompute (:mod:`storage.tiers_recompute`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.bulk import BulkDriver, BulkStatement, chunks, dialect_insert, memo, rows_into
from storage.tables import metadata

__all__ = ["add_delta", "apply_deltas", "window_through"]

PAID_DAYS: Table = metadata.tables["customer_paid_day"]
RFM: Table = metadata.tables["customer_rfm"]
WINDOW: Table = metadata.tables["rfm_window"]


async def window_through(conn: AsyncConnection, today: date) -> date:
    """The watermark of the running totals; created as `today` when there is none yet."""
    found = (await conn.execute(select(WINDOW.c.window_through).where(WINDOW.c.id == 1))).scalar()
    if found is None:
        moment = datetime.now(UTC)
        await conn.execute(insert(WINDOW).values(id=1, window_through=today, updated_at=moment))
        return today
    return found  # type: ignore[no-any-return]


def add_delta(
    deltas: dict[tuple[int, date], list[int]], key: tuple[int, date], n: int, c: int
) -> None:
    """Adds `n` paid orders and `c` cents to the (customer, day) entry of `deltas`."""
    entry = deltas.get(key)
    if entry is None:
        deltas[key] = [n, c]
    else:
        entry[0] += n
        entry[1] += c


async def apply_deltas(
    conn: AsyncConnection, deltas: Mapping[tuple[int, date], Sequence[int]], start: date
) -> None:
    """Adds per-(customer, day) changes of paid orders and cents to the buckets and to the
    running totals of the window starting on `start`."""
    changes = [(cid, day, n, c) for (cid, day), (n, c) in deltas.items() if n or c]
    if not changes:
        return
    driver = BulkDriver.of(conn)
    day_in = memo(driver.day)
    await driver.executemany(
        conn, _UPSERT_PAID_DAY, [(cid, day_in(day), n, c) for cid, day, n, c in changes]
    )
    per_customer: dict[int, list[Any]] = {}  # first, last (of added days), window n, window c
    shrunk: set[int] = set()
    for cid, day, n, c in changes:
        entry = per_customer.get(cid)
        if entry is None:
            entry = per_customer[cid] = [None, None, 0, 0]
        if n > 0:
            if entry[0] is None or day < entry[0]:
                entry[0] = day
            if entry[1] is None or day > entry[1]:
                entry[1] = day
        else:
            shrunk.add(cid)
        if day >= start:
            entry[2] += n
            entry[3] += c
    await driver.executemany(
        conn,
        _UPSERT_RFM,
        [
            (
                cid,
                None if first is None else day_in(first),
                None if last is None else day_in(last),
                n,
                c,
            )
            for cid, (first, last, n, c) in per_customer.items()
        ],
    )
    if shrunk:
        await _refresh_first_last(conn, sorted(shrunk))


async def _refresh_first_last(conn: AsyncConnection, customer_ids: Sequence[int]) -> None:
    """After paid orders were withdrawn: drop empty buckets and recompute first and last paid
    days of these customers from their own buckets."""
    for chunk in chunks(customer_ids):
        await conn.execute(
            delete(PAID_DAYS).where(
                and_(PAID_DAYS.c.customer_id.in_(chunk), PAID_DAYS.c.orders <= 0)
            )
        )
        bounds = (
            select(PAID_DAYS.c.customer_id, func.min(PAID_DAYS.c.day), func.max(PAID_DAYS.c.day))
            .where(PAID_DAYS.c.customer_id.in_(chunk))
            .group_by(PAID_DAYS.c.customer_id)
        )
        found = {cid: (lo, hi) for cid, lo, hi in (await conn.execute(bounds)).all()}
        rows = [
            {
                "b_id": cid,
                "first": found.get(cid, (None, None))[0],
                "last": found.get(cid, (None, None))[1],
            }
            for cid in chunk
        ]
        await conn.execute(
            update(RFM)
            .where(RFM.c.customer_id == bindparam("b_id"))
            .values(first_paid_day=bindparam("first"), last_paid_day=bindparam("last")),
            rows,
        )


_PAID_DAY_COLUMNS = ("customer_id", "day", "orders", "amount_cents")


def _build_upsert_paid_day(dialect: str, rows: Select[Any] | None) -> Any:
    upsert = rows_into(dialect_insert(dialect, PAID_DAYS), _PAID_DAY_COLUMNS, rows)
    return upsert.on_conflict_do_update(
        index_elements=["customer_id", "day"],
        set_={
            "orders": PAID_DAYS.c.orders + upsert.excluded.orders,
            "amount_cents": PAID_DAYS.c.amount_cents + upsert.excluded.amount_cents,
        },
    )


_UPSERT_PAID_DAY = BulkStatement.upsert_into(PAID_DAYS, _PAID_DAY_COLUMNS, _build_upsert_paid_day)
_RFM_COLUMNS = ("customer_id", "first_paid_day", "last_paid_day", "window_orders",
                "window_amount_cents")  # fmt: skip


def _build_upsert_rfm(dialect: str, rows: Select[Any] | None) -> Any:
    rfm = rows_into(dialect_insert(dialect, RFM), _RFM_COLUMNS, rows)
    ex = rfm.excluded
    return rfm.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            "first_paid_day": case(
                (
                    or_(RFM.c.first_paid_day.is_(None), ex.first_paid_day < RFM.c.first_paid_day),
                    ex.first_paid_day,
                ),
                else_=RFM.c.first_paid_day,
            ),
            "last_paid_day": case(
                (
                    or_(RFM.c.last_paid_day.is_(None), ex.last_paid_day > RFM.c.last_paid_day),
                    ex.last_paid_day,
                ),
                else_=RFM.c.last_paid_day,
            ),
            "window_orders": RFM.c.window_orders + ex.window_orders,
            "window_amount_cents": RFM.c.window_amount_cents + ex.window_amount_cents,
        },
    )


_UPSERT_RFM = BulkStatement.upsert_into(RFM, _RFM_COLUMNS, _build_upsert_rfm)
