"""The bulk writes' plain inserts (:class:`storage.bulk.BulkStatement.insert_into`) and
staged upserts (:meth:`~storage.bulk.BulkStatement.upsert_into`): on PostgreSQL a ``COPY``
(into the table, or into a staging table and one ``INSERT … SELECT``), on SQLite an
``executemany``; on both they belong to the caller's transaction (a rollback leaves nothing)
and store exactly the tuples given, times and days included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from storage.bulk import STAGE_FROM, BulkDriver, BulkStatement
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.rfm_totals import apply_deltas
from storage.tables import metadata

CUSTOMERS = metadata.tables["customer"]
HISTORY = metadata.tables["customer_tier_history"]
PAID_DAYS = metadata.tables["customer_paid_day"]
RFM = metadata.tables["customer_rfm"]

COLUMNS = ("customer_ref", "display_name", "first_name", "reachability", "created_at",
           "updated_at")  # fmt: skip
INSERT_CUSTOMERS = BulkStatement.insert_into(CUSTOMERS, COLUMNS)
INSERT_HISTORY = BulkStatement.insert_into(
    HISTORY, ("customer_id", "as_of", "old_tier", "new_tier")
)
WHEN = datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=UTC)


@pytest.mark.parametrize("first_statement", [True, False], ids=["copy-first", "after-a-query"])
async def test_plain_inserts_join_the_transaction_and_store_what_was_given(
    database_url: str, first_statement: bool
) -> None:
    engine = make_engine(database_url)
    await upgrade(database_url, engine=engine)
    try:
        async with engine.connect() as conn:
            driver = BulkDriver.of(conn)
            assert driver.copies == (conn.dialect.name == "postgresql")
            rows = [(f"C{i}", "", "", "reachable", driver.time(WHEN), driver.time(WHEN))
                    for i in range(3)]  # fmt: skip
            if not first_statement:
                await conn.execute(select(1))
            await driver.executemany(conn, INSERT_CUSTOMERS, rows)
            await conn.rollback()  # a COPY outside the transaction would survive this
        async with engine.connect() as conn:
            assert (await conn.execute(select(CUSTOMERS.c.customer_ref))).all() == []

            await driver.executemany(conn, INSERT_CUSTOMERS, rows)
            ids = (await conn.execute(select(CUSTOMERS.c.id).order_by(CUSTOMERS.c.id))).scalars()
            history = [(i, driver.day(date(2026, 3, 1)), None, "mid") for i in ids]
            await driver.executemany(conn, INSERT_HISTORY, history)
            await driver.executemany(conn, INSERT_HISTORY, [])  # nothing to do, no error
            await conn.commit()
        async with engine.connect() as conn:
            query = select(CUSTOMERS.c.customer_ref, CUSTOMERS.c.created_at)
            stored = (await conn.execute(query)).all()
            assert sorted(stored) == [(f"C{i}", WHEN) for i in range(3)]
            days = (await conn.execute(select(HISTORY.c.as_of, HISTORY.c.new_tier))).all()
            assert days == [(date(2026, 3, 1), "mid")] * 3
    finally:
        await engine.dispose()


async def test_staged_upserts_add_up_within_and_across_transactions(database_url: str) -> None:
    """The RFM upserts (:class:`storage.bulk.BulkStatement.upsert_into`) with enough rows to be
    staged on PostgreSQL (``COPY`` into a temporary table, one ``INSERT … SELECT … ON
    CONFLICT``): twice in one transaction they add up (the staging table starts empty each
    time), a rollback leaves nothing, and a later transaction adds to what was committed."""
    engine = make_engine(database_url)
    await upgrade(database_url, engine=engine)
    day, later, start = date(2026, 3, 1), date(2026, 3, 5), date(2026, 1, 1)
    try:
        async with engine.connect() as conn:
            driver = BulkDriver.of(conn)
            rows = [(f"C{i}", "", "", "reachable", driver.time(WHEN), driver.time(WHEN))
                    for i in range(STAGE_FROM + 10)]  # fmt: skip
            await driver.executemany(conn, INSERT_CUSTOMERS, rows)
            ids = list((await conn.execute(select(CUSTOMERS.c.id))).scalars())
            await conn.commit()
            await apply_deltas(conn, {(cid, day): [1, 100] for cid in ids}, start)
            await conn.rollback()
            await apply_deltas(conn, {(cid, day): [1, 100] for cid in ids}, start)
            await apply_deltas(conn, {(cid, later): [2, 50] for cid in ids}, start)
            await conn.commit()
            await apply_deltas(conn, {(cid, day): [1, 10] for cid in ids}, start)
            await conn.commit()
        async with engine.connect() as conn:
            buckets = (await conn.execute(select(PAID_DAYS.c.day, PAID_DAYS.c.orders,
                                                 PAID_DAYS.c.amount_cents))).all()  # fmt: skip
            totals = (await conn.execute(select(RFM.c.first_paid_day, RFM.c.last_paid_day,
                                                RFM.c.window_orders,
                                                RFM.c.window_amount_cents))).all()  # fmt: skip
        assert sorted(buckets) == [(day, 2, 110)] * len(ids) + [(later, 2, 50)] * len(ids)
        assert totals == [(day, later, 4, 160)] * len(ids)
    finally:
        await engine.dispose()
