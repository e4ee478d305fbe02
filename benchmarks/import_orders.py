"""Benchmark: importing orders from CSV (issue #5), the project's batched, idempotent import
against a naive row-by-row ORM insert, in the same run.

    .venv/bin/python -m benchmarks.import_orders --orders 1000000 --customers 100000
    .venv/bin/python -m benchmarks.import_orders --orders 1000000 --customers 100000 --postgres
    .venv/bin/python -m benchmarks.import_orders --orders 200000 --customers 20000 --sequential

Generates a seeded CSV (two years of orders, heavy-tailed per-customer rates), imports it
into a fresh database with ``storage.customers_import.import_orders`` (buckets and running
totals included), re-imports it (idempotency: nothing changes), recomputes tiers, and times a
naive baseline (one ORM ``session.add`` + flush per row, customers looked up one by one) on a
sample of the same database kind, extrapolated to the full size. Prints all figures.
``--sequential`` turns off the overlap of parsing and writing (:mod:`storage.import_pipeline`)
for an A/B of it in one tree.

The database is a fresh SQLite file (WAL, the engine's own settings), or with ``--postgres``
a throwaway PostgreSQL server started from the local binaries (``tests/postgres_server.py``)
with production durability (``fsync`` on), one fresh database per side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlmodel import col, select

from bot.core.importing import ORDER_COLUMNS
from bot.core.tiers import TierPolicy
from storage.customers_import import import_orders, read_rows
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import CustomerOrderRow, CustomerRow
from storage.tiers_recompute import recompute_tiers
from storage.uow import make_sessionmaker
from tests.postgres_server import PostgresServer, throwaway_server

END = datetime(2025, 12, 31, tzinfo=UTC)
REQUIRED = ("order_id", "customer_ref", "amount", "status", "created_at")


def generate(path: Path, orders: int, customers: int, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.2, customers) + 0.05
    owner = rng.choice(customers, size=orders, p=weights / weights.sum())
    seconds = rng.integers(0, 730 * 86400, size=orders)
    amount = np.round(rng.lognormal(4.5, 0.8, size=orders), 2)
    status = rng.choice(["delivered", "paid", "refunded", "cancelled", "pending"], orders,
                        p=[0.7, 0.15, 0.05, 0.05, 0.05])  # fmt: skip
    start = END - timedelta(days=730)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["order_id", "customer_ref", "amount", "currency", "status", "created_at",
                      "paid_at"])  # fmt: skip
        for i in range(orders):
            created = start + timedelta(seconds=int(seconds[i]))
            paid = created + timedelta(minutes=5) if status[i] != "pending" else None
            out.writerow([f"O{i:08d}", f"C{owner[i]:07d}", f"{amount[i]:.2f}", "CNY", status[i],
                          created.strftime("%Y-%m-%dT%H:%M:%S"),
                          paid.strftime("%Y-%m-%dT%H:%M:%S") if paid else ""])  # fmt: skip


async def project(
    path: Path, url: str, batch: int, overlap: bool = True
) -> tuple[float, float, float]:
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    report = await import_orders(
        engine, read_rows(path, ORDER_COLUMNS, REQUIRED), shop_currency="CNY", now=now,
        batch_size=batch, overlap=overlap,
    )  # fmt: skip
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = await import_orders(
        engine, read_rows(path, ORDER_COLUMNS, REQUIRED), shop_currency="CNY", now=now,
        batch_size=batch, overlap=overlap,
    )  # fmt: skip
    second = time.perf_counter() - t0
    assert again.created == again.updated == 0, again
    t0 = time.perf_counter()
    await recompute_tiers(engine, END, TierPolicy())
    tiers = time.perf_counter() - t0
    await engine.dispose()
    print(f"  rows {report.rows}, created {report.created}, customers {report.customers_created}")
    return first, second, tiers


async def naive(path: Path, url: str, sample: int) -> float:
    """Row by row through the ORM: look the customer up, add it if missing, add the order."""
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    sessions = make_sessionmaker(engine)
    t0 = time.perf_counter()
    async with sessions() as session:
        with path.open(newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                if i >= sample:
                    break
                ref = row["customer_ref"]
                stmt = select(CustomerRow).where(col(CustomerRow.customer_ref) == ref)
                customer = (await session.scalars(stmt)).first()
                now = datetime.now(UTC)
                if customer is None:
                    customer = CustomerRow(customer_ref=ref, display_name="", first_name="",
                                           reachability="reachable", created_at=now,
                                           updated_at=now)  # fmt: skip
                    session.add(customer)
                    await session.flush()
                created = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
                paid = row["paid_at"]
                session.add(CustomerOrderRow(
                    order_id=row["order_id"], customer_id=customer.id or 0,
                    amount_cents=round(float(row["amount"]) * 100), currency="CNY",
                    status=row["status"], created_at=created,
                    paid_at=datetime.fromisoformat(paid).replace(tzinfo=UTC) if paid else None,
                ))  # fmt: skip
                await session.flush()
        await session.commit()
    elapsed = time.perf_counter() - t0
    await engine.dispose()
    return elapsed


@contextlib.contextmanager
def databases(postgres: bool, tmp: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one kind: the project's side and the baseline's."""
    if not postgres:
        yield f"sqlite+aiosqlite:///{tmp / 'a.db'}", f"sqlite+aiosqlite:///{tmp / 'b.db'}"
        return
    with throwaway_server(durable=True) as admin:
        server = PostgresServer(admin, itertools.count())
        yield asyncio.run(server.fresh_database()), asyncio.run(server.fresh_database())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--baseline-sample", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="parse and write one batch after the other (no overlap), for comparison",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, databases(args.postgres, Path(tmp)) as urls:
        csv_path = Path(tmp) / "orders.csv"
        t0 = time.perf_counter()
        generate(csv_path, args.orders, args.customers)
        size = csv_path.stat().st_size / 1e6
        took = time.perf_counter() - t0
        print(f"generated {args.orders:,} orders ({size:.0f} MB) in {took:.1f} s")
        print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
        print(f"batches: {'one after the other' if args.sequential else 'overlapped'}")
        run = project(csv_path, urls[0], args.batch, overlap=not args.sequential)
        first, second, tiers = asyncio.run(run)
        sample = min(args.baseline_sample, args.orders)
        base = asyncio.run(naive(csv_path, urls[1], sample))
    base_full = base * args.orders / sample
    print(f"project import:   {first:8.2f} s  ({args.orders / first:,.0f} rows/s)")
    print(f"re-import (noop): {second:8.2f} s")
    print(f"tiers recompute:  {tiers:8.2f} s")
    print(
        f"naive ORM:        {base:8.2f} s for {sample:,} rows -> {base_full:,.1f} s "
        f"extrapolated ({sample / base:,.0f} rows/s)"
    )
    print(f"speed-up:         {base_full / first:8.1f}x")


if __name__ == "__main__":
    main()
