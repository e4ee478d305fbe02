"""Benchmark: ``rapport tiers recompute`` from the database (issue #5), the project's
recompute from the per-customer aggregates against a baseline that reads the orders, in one run.

    .venv/bin/python -m benchmarks.tiers_recompute                      # 100,000 customers
    .venv/bin/python -m benchmarks.tiers_recompute --customers 1000000  # ~10M orders, by hand
    .venv/bin/python -m benchmarks.tiers_recompute --customers 1000000 --postgres
    .venv/bin/python -m benchmarks.tiers_recompute --customers 1000000 --postgres \
        --orders-per-customer 2

The last is how the 1,000,000-customer recompute on PostgreSQL is measured on a shared machine:
the recompute reads one row per customer (running totals, standings), never the orders, so
2 orders per customer instead of 10 keeps every customer and shrinks only the orders and day
buckets to copy into the server (fewer customers have bought: 608,948 running totals instead
of most of the million, so the figure is a little flattering).

1. Generates the seeded synthetic shop of :mod:`benchmarks.rfm` (heavy-tailed purchase rates
   over two years, ~10 orders per customer, 90 % paid — of those 70 % marked delivered — the
   rest pending or refunded) and writes it straight into a fresh SQLite file with the tables the
   import fills: ``customer``, ``customer_order``, the per-day buckets ``customer_paid_day``
   (grouped with numpy), the running totals ``customer_rfm`` and the watermark ``rfm_window``,
   as the import leaves them the evening before `as_of` (so the recompute rolls one day). No CSV
   import: ``sqlite3`` ``executemany`` of prepared tuples, secondary indexes built afterwards.
2. Times, each in its own fresh process (so peak RSS is that phase's alone):
   * **ours, first**: ``storage.tiers_recompute.recompute`` as of `as_of`, end to end (roll the
     window, read the aggregates, score, write a standing per customer and a history row per
     customer, since nobody had a tier before);
   * **ours, nightly**: the same the next day (roll one day; history only for changed tiers);
   * **baseline** (the textbook path without running aggregates), the same day: read every
     paid order (``pandas.read_sql``), floor to the UTC day, filter the window, ``groupby``
     customer (last day, count, sum; first day over all paid orders), score with the pandas
     ``qcut`` code of :mod:`benchmarks.rfm`, lifecycle stages with the project's
     ``lifecycle_codes``, then replace ``customer_tier`` (``DataFrame.to_sql``) and append
     history rows for changed tiers. It does not compute RF segments.
3. Checks that the baseline and ours agree on ≥ 99 % of customers' tiers, and prints the times,
   the ratio and each phase's peak RSS.

With ``--postgres`` the built tables are copied (``COPY``, through asyncpg) into a fresh,
migrated database on a throwaway PostgreSQL server with production durability
(``tests/postgres_server.py``), and ours runs there; the baseline stays the pandas path over
the SQLite copy (the same rows), so both figures still come from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import make_url, text

from benchmarks.rfm import AS_OF, PAID, PENDING, generate, pandas_score
from bot.core.tiers import LIFECYCLES_BY_CODE, TierPolicy, lifecycle_codes, window_start
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tiers_recompute import recompute
from tests.postgres_server import PostgresServer, throwaway_server

#: The first recompute is as of the generator's last day; the nightly one a day later.
FIRST = datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
NIGHTLY = FIRST + timedelta(days=1)
EPOCH = date(1970, 1, 1)
CHUNK = 200_000


# ------------------------------------------------------------------ building the database


def _times(seconds: np.ndarray) -> list[str]:
    """SQLite's ``UTCDateTime`` text (naive UTC with microseconds) for epoch seconds."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [f"{t[:10]} {t[11:]}.000000" for t in text.tolist()]


def _days(days: np.ndarray) -> list[str | None]:
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()
    return [None if t == "NaT" else t for t in text]


def _insert(db: sqlite3.Connection, table: str, columns: list[str], rows: Any) -> None:
    marks = ", ".join("?" * len(columns))
    db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def build(path: Path, customers: int, orders_per_customer: float, seed: int) -> dict[str, int]:
    """The database as the import would leave it the evening before `FIRST`."""
    url = f"sqlite+aiosqlite:///{path}"

    async def migrate() -> None:
        engine = make_engine(url)
        await upgrade(url, engine=engine)
        await engine.dispose()

    asyncio.run(migrate())
    shop = generate(customers, orders_per_customer, seed)
    policy = TierPolicy()
    n_orders = shop.order_ids.size
    cents = np.rint(shop.amount * 100).astype(np.int64)
    paid_s = shop.paid_at.astype(np.int64)
    rng = np.random.default_rng(seed + 1)
    status = np.where(
        shop.status == PAID,
        np.where(rng.random(n_orders) < 0.7, "delivered", "paid"),
        np.where(shop.status == PENDING, "pending", "refunded"),
    )

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("BEGIN")
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('customer_order', 'customer_paid_day')"
    ).fetchall()
    for name, _sql in indexes:
        db.execute(f"DROP INDEX {name}")
    now = "2025-06-30 20:00:00.000000"
    _insert(
        db,
        "customer",
        ["id", "customer_ref", "display_name", "first_name", "reachability", "created_at",
         "updated_at"],
        ((int(i), f"C{i:07d}", "", "", "reachable", now, now) for i in shop.customer_ids),
    )  # fmt: skip
    columns = ["id", "order_id", "customer_id", "amount_cents", "currency", "status",
               "created_at", "paid_at"]  # fmt: skip
    for lo in range(0, n_orders, CHUNK):
        hi = min(lo + CHUNK, n_orders)
        paid_text = _times(paid_s[lo:hi])
        created_text = _times(paid_s[lo:hi] - 300)
        st = status[lo:hi].tolist()
        _insert(
            db,
            "customer_order",
            columns,
            zip(
                shop.order_ids[lo:hi].tolist(),
                (f"O{i:09d}" for i in shop.order_ids[lo:hi].tolist()),
                shop.order_customer[lo:hi].tolist(),
                cents[lo:hi].tolist(),
                ["CNY"] * (hi - lo),
                st,
                created_text,
                [None if s == "pending" else p for s, p in zip(st, paid_text, strict=True)],
                strict=True,
            ),
        )

    # Buckets: paid orders grouped by (customer, UTC day).
    counts = (status == "paid") | (status == "delivered")
    cust = shop.order_customer[counts]
    day = paid_s[counts] // 86_400
    key = cust * 100_000 + day
    keys, inverse = np.unique(key, return_inverse=True)
    b_orders = np.bincount(inverse).astype(np.int64)
    b_cents = np.bincount(inverse, weights=cents[counts]).astype(np.int64)
    b_cust, b_day = keys // 100_000, keys % 100_000
    _insert(
        db,
        "customer_paid_day",
        ["customer_id", "day", "orders", "amount_cents"],
        zip(b_cust.tolist(), _days(b_day), b_orders.tolist(), b_cents.tolist(), strict=True),
    )
    # Running totals for the window ending the day before FIRST (the nightly job rolls it).
    through = FIRST.date() - timedelta(days=1)
    start = (window_start(through, policy) - EPOCH).days
    size = customers + 1
    first = np.full(size, np.iinfo(np.int64).max)
    last = np.full(size, -1)
    np.minimum.at(first, b_cust, b_day)
    np.maximum.at(last, b_cust, b_day)
    in_window = b_day >= start
    w_orders = np.bincount(b_cust[in_window], weights=b_orders[in_window], minlength=size)
    w_cents = np.bincount(b_cust[in_window], weights=b_cents[in_window], minlength=size)
    buyers = np.flatnonzero(last >= 0)
    _insert(
        db,
        "customer_rfm",
        ["customer_id", "first_paid_day", "last_paid_day", "window_orders",
         "window_amount_cents"],
        zip(buyers.tolist(), _days(first[buyers]), _days(last[buyers]),
            w_orders[buyers].astype(np.int64).tolist(),
            w_cents[buyers].astype(np.int64).tolist(), strict=True),
    )  # fmt: skip
    _insert(db, "rfm_window", ["id", "window_through", "updated_at"], [(1, str(through), now)])
    for _name, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("ANALYZE")
    db.close()
    return {"customers": customers, "orders": n_orders, "buckets": int(keys.size),
            "buyers": int(buyers.size)}  # fmt: skip


# ------------------------------------------------------------------ the phases


NULL = "\\N"
#: The tables :func:`build` fills, in an order that satisfies the foreign keys.
BUILT_TABLES = ("customer", "customer_order", "customer_paid_day", "customer_rfm", "rfm_window")


async def copy_to_postgres(path: Path, url: str, scratch: Path) -> None:
    """Copies the built tables from the SQLite file into the (migrated, empty) PostgreSQL
    database at `url`: each table is written to a CSV file in `scratch` and read with
    ``COPY … (FORMAT csv, NULL '\\N')`` in a UTC session, so SQLite's time and day text
    becomes PostgreSQL's types and an empty string stays one."""
    import asyncpg  # the benchmark's PostgreSQL side only

    target = make_url(url)
    connection = await asyncpg.connect(
        user=target.username,
        database=target.database,
        host=str(target.query.get("host") or target.host or "localhost"),
        port=target.port,
    )
    source = sqlite3.connect(path)
    try:
        await connection.execute("SET TIME ZONE 'UTC'")
        # Secondary indexes are built after the rows are in, as :func:`build` does.
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[]) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            list(BUILT_TABLES),
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        for table in BUILT_TABLES:
            cursor = source.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            dump = scratch / f"{table}.csv"
            with dump.open("w", newline="") as handle:
                out = csv.writer(handle)
                while rows := cursor.fetchmany(CHUNK):
                    out.writerows([NULL if v is None else v for v in row] for row in rows)
            await connection.copy_to_table(
                table, source=dump, columns=columns, format="csv", null=NULL
            )
            dump.unlink()
        for index in indexes:
            await connection.execute(index["indexdef"])
        await connection.execute("ANALYZE")
    finally:
        source.close()
        await connection.close()


def ours(path: Path, as_of: datetime, url: str | None = None) -> dict[str, Any]:
    async def run() -> Any:
        engine = make_engine(url or f"sqlite+aiosqlite:///{path}")
        try:
            started = time.perf_counter()
            report = await recompute(engine, as_of)
            return time.perf_counter() - started, report
        finally:
            await engine.dispose()

    seconds, report = asyncio.run(run())
    return {
        "seconds": seconds,
        "tiers": report.tiers,
        "changes": report.changes,
        "rolled_days": report.rolled_days,
    }


def baseline(path: Path, as_of: datetime) -> dict[str, Any]:
    """Tiers from the orders table, the textbook way (see the module docstring)."""
    policy = TierPolicy()
    started = time.perf_counter()
    db = sqlite3.connect(path)
    orders = pd.read_sql_query(
        "SELECT customer_id, COALESCE(paid_at, created_at) AS paid_at, amount_cents "
        "FROM customer_order WHERE status IN ('paid', 'delivered')",
        db,
    )
    customer_ids = pd.read_sql_query("SELECT id FROM customer ORDER BY id", db)["id"].to_numpy()
    day = pd.to_datetime(orders["paid_at"], format="ISO8601").dt.floor("D")
    orders = orders.assign(day=day)
    today = pd.Timestamp(as_of.date())
    ever = orders.groupby("customer_id").agg(first_day=("day", "min"), last_day=("day", "max"))
    window = orders[orders["day"] > today - pd.Timedelta(days=policy.window_days)]
    rfm = window.groupby("customer_id").agg(
        last_day=("day", "max"), frequency=("day", "count"), monetary=("amount_cents", "sum")
    )
    rfm["recency"] = (today - rfm["last_day"]).dt.days
    scored = pandas_score(rfm[["recency", "frequency", "monetary"]], customer_ids, policy)
    ever = ever.reindex(customer_ids)
    rec = (today - ever["last_day"]).dt.days.fillna(-1).to_numpy(np.int64)
    first = (today - ever["first_day"]).dt.days.fillna(-1).to_numpy(np.int64)
    stages = np.array([s.value for s in LIFECYCLES_BY_CODE], dtype=object)
    tiers = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "as_of": str(as_of.date()),
            "tier": scored["tier"].to_numpy(),
            "segment": None,
            "lifecycle": stages[lifecycle_codes(rec, first, policy)],
            "recency_days": np.where(rec >= 0, rec, np.nan),
            "frequency": scored["frequency"].fillna(0).to_numpy(np.int64),
            "monetary_cents": scored["monetary"].fillna(0).to_numpy(np.int64),
            "r_score": scored["R"].to_numpy(),
            "f_score": scored["F"].to_numpy(),
            "m_score": scored["M"].to_numpy(),
        }
    )
    old = pd.read_sql_query("SELECT customer_id, tier FROM customer_tier", db)
    db.execute("DELETE FROM customer_tier")
    tiers.to_sql("customer_tier", db, if_exists="append", index=False, chunksize=50_000)
    merged = tiers[["customer_id", "tier"]].merge(
        old, on="customer_id", how="left", suffixes=("", "_old")
    )
    changed = merged[merged["tier"] != merged["tier_old"]]
    history = pd.DataFrame(
        {
            "customer_id": changed["customer_id"],
            "as_of": str(as_of.date()),
            "old_tier": changed["tier_old"].astype(object).where(changed["tier_old"].notna()),
            "new_tier": changed["tier"],
        }
    )
    history.to_sql("customer_tier_history", db, if_exists="append", index=False, chunksize=50_000)
    db.commit()
    db.close()
    counts = tiers["tier"].value_counts().to_dict()
    return {"seconds": time.perf_counter() - started, "tiers": counts, "changes": len(changed)}


def stored_tiers(path: Path, url: str | None = None) -> np.ndarray:
    if url is None:
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT tier FROM customer_tier ORDER BY customer_id").fetchall()
        return np.array([r[0] for r in rows], dtype=object)

    async def read() -> list[Any]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                query = text("SELECT tier FROM customer_tier ORDER BY customer_id")
                return list((await connection.execute(query)).all())
        finally:
            await engine.dispose()

    return np.array([r[0] for r in asyncio.run(read())], dtype=object)


def peak_rss_mib() -> float:
    """This process's peak RSS since its ``exec`` (``VmHWM``; ``ru_maxrss`` would include the
    parent's peak, inherited through ``fork``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, path: Path, url: str | None = None) -> dict[str, Any]:
    """Runs one phase in a fresh interpreter; its figures and its own peak RSS."""
    command = [sys.executable, "-m", "benchmarks.tiers_recompute", "--phase", name]
    command += ["--db", str(path), *(["--url", url] if url else [])]
    out = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"phase {name} failed")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def postgres_database(wanted: bool) -> Iterator[str | None]:
    """A fresh migrated database on a throwaway durable PostgreSQL server, or None."""
    if not wanted:
        yield None
        return
    with throwaway_server(durable=True) as admin:
        yield asyncio.run(PostgresServer(admin, itertools.count()).fresh_database())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--phase", choices=["first", "nightly", "baseline"], help=argparse.SUPPRESS
    )
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--postgres", action="store_true", help="ours on a throwaway PostgreSQL")
    parser.add_argument("--keep", type=Path, help="copy the built database here")
    args = parser.parse_args(argv)

    if args.phase:
        assert args.db is not None
        if args.phase == "baseline":
            result = baseline(args.db, NIGHTLY)
        else:
            result = ours(args.db, FIRST if args.phase == "first" else NIGHTLY, args.url)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return 0

    assert np.datetime64(FIRST.date()) == AS_OF
    print(
        f"tiers recompute benchmark: python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp, postgres_database(args.postgres) as url:
        path = Path(tmp) / "shop.db"
        started = time.perf_counter()
        sizes = build(path, args.customers, args.orders_per_customer, args.seed)
        built = time.perf_counter() - started
        mb = path.stat().st_size / 2**20
        print(
            f"built {sizes['customers']:,} customers, {sizes['orders']:,} orders, "
            f"{sizes['buckets']:,} day buckets, {sizes['buyers']:,} running totals "
            f"({mb:,.0f} MiB) in {built:.1f} s"
        )
        if args.keep:
            import shutil

            shutil.copy(path, args.keep)
        if url:
            started = time.perf_counter()
            asyncio.run(copy_to_postgres(path, url, Path(tmp)))
            print(f"copied into PostgreSQL in {time.perf_counter() - started:.1f} s")
        first = phase("first", path, url)
        nightly = phase("nightly", path, url)
        ours_tiers = stored_tiers(path, url)
        base = phase("baseline", path)
        base_tiers = stored_tiers(path)
    same = float((ours_tiers == base_tiers).mean())
    print(f"\n{'':44}{'seconds':>9}{'peak RSS':>10}")
    rows = [
        (f"ours, first recompute ({first['changes']:,} history rows)", first),
        (f"ours, nightly (rolled {nightly['rolled_days']} day, {nightly['changes']:,} changes)",
         nightly),
        (f"baseline from orders ({base['changes']:,} changes)", base),
    ]  # fmt: skip
    for label, figures in rows:
        print(f"{label:44}{figures['seconds']:9.2f}{figures['peak_rss_mib']:7.0f} MiB")
    print(f"speed-up, nightly vs baseline: {base['seconds'] / nightly['seconds']:.1f}x; "
          f"first vs baseline: {base['seconds'] / first['seconds']:.1f}x")  # fmt: skip
    print(f"tiers (ours, nightly): {nightly['tiers']}")
    print(f"agreement with the baseline: {same:.4%} of customers in the same tier")
    assert same >= 0.99, f"agreement {same:.4%} below 99 %"
    return 0


if __name__ == "__main__":
    sys.exit(main())
