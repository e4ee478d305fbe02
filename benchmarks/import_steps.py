"""Where the order import's time goes: per step, and CPU of this process against the database's.

    .venv/bin/python -m benchmarks.import_steps --orders 200000 --customers 20000 [--postgres]
    .venv/bin/python -m benchmarks.import_steps --orders 200000 --sequential
    .venv/bin/python -m benchmarks.import_steps --orders 1000000 --customers 100000 --cache-mib 2
    .venv/bin/python -m benchmarks.import_steps --drop-pragma "PRAGMA secure_delete=ON"

Imports the CSV of :mod:`benchmarks.import_orders` (cached in the temporary directory by
size) twice, as that benchmark does, and prints for each: the wall time; the CPU of this
process, of its event-loop thread (parsing, bookkeeping, driver calls) and of its other
threads (aiosqlite's: SQLite's own work); the CPU of the throwaway PostgreSQL server
(``/proc``: its postmaster, the backends it has reaped, its live children); and the wall
time inside the import's steps (timers wrapped around them; with the overlap on they include
waiting for the parser's turns). ``--cache-mib`` is the SQLite import's page cache
(``RAPPORT_IMPORT_SQLITE_CACHE_MIB``; SQLite's default is 2); ``--pragma`` and
``--drop-pragma`` change the SQLite engine's per-connection PRAGMAs. Figures in
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import make_url

import storage.customers_import as customers_import
import storage.engine as storage_engine
from benchmarks.import_orders import REQUIRED, generate
from bot.core.importing import ORDER_COLUMNS
from storage.bulk import BulkDriver, BulkStatement
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.postgres_server import PostgresServer, throwaway_server

STEPS: collections.defaultdict[str, float] = collections.defaultdict(float)
R = TypeVar("R")


def server_cpu(socket_dir: str | None) -> float:
    """CPU seconds used so far by the PostgreSQL server whose socket is in `socket_dir`: its
    postmaster (with the backends it has reaped) and its live children; 0 without one."""
    if socket_dir is None:
        return 0.0
    stats: dict[int, list[str]] = {}
    postmaster = None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stats[int(pid)] = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().split(b"\0")
        except OSError:
            continue
        if command[0].endswith(b"/postgres") and f"{socket_dir}/data".encode() in command:
            postmaster = int(pid)
    if postmaster is None:
        return 0.0
    ticks = sum(int(v) for v in stats[postmaster][11:15])  # utime stime cutime cstime
    ticks += sum(int(f[11]) + int(f[12]) for f in stats.values() if int(f[1]) == postmaster)
    return ticks / os.sysconf("SC_CLK_TCK")


def timed(name: str, step: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    async def wrapper(*args: Any, **kwargs: Any) -> R:
        t0 = time.perf_counter()
        try:
            return await step(*args, **kwargs)
        finally:
            STEPS[name] += time.perf_counter() - t0

    return wrapper


def wrap_steps() -> None:
    ci: Any = customers_import
    for name in ("_customer_ids", "_stored_orders", "apply_deltas", "upsert_orders"):
        setattr(ci, name, timed(name, getattr(ci, name)))
    executemany = BulkDriver.executemany

    async def statement(
        self: BulkDriver, conn: Any, stmt: BulkStatement, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        into = stmt.into.name if stmt.into is not None else None
        name = stmt.copy_into or into or "update orders"
        await timed(f"executemany {name}", executemany)(self, conn, stmt, rows)

    BulkDriver.executemany = statement  # type: ignore[method-assign, assignment]


def set_pragmas(add: list[str], drop: list[str]) -> None:
    original = storage_engine.sqlite_pragmas

    def pragmas(*, foreign_keys: bool = True) -> tuple[str, ...]:
        kept = [p for p in original(foreign_keys=foreign_keys) if p not in drop]
        return (*kept, *add)

    storage_engine.sqlite_pragmas = pragmas


async def run(path: Path, url: str, args: argparse.Namespace) -> None:
    host = make_url(url).query.get("host")
    socket_dir = host if isinstance(host, str) else None
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    now = datetime.now(UTC)
    for what in ("import", "re-import"):
        STEPS.clear()
        cpu, thread, wall, server = (
            time.process_time(), time.thread_time(), time.perf_counter(), server_cpu(socket_dir)
        )  # fmt: skip
        report = await customers_import.import_orders(
            engine, customers_import.read_rows(path, ORDER_COLUMNS, REQUIRED),
            shop_currency="CNY", now=now, batch_size=args.batch, overlap=not args.sequential,
            sqlite_cache_mib=args.cache_mib,
        )  # fmt: skip
        wall = time.perf_counter() - wall
        cpu, thread = time.process_time() - cpu, time.thread_time() - thread
        print(
            f"{what}: wall {wall:.2f} s, CPU of this process {cpu:.2f} s (event loop "
            f"{thread:.2f} s, other threads {cpu - thread:.2f} s), PostgreSQL server "
            f"{server_cpu(socket_dir) - server:.2f} s; created {report.created}"
        )
        for name, seconds in sorted(STEPS.items()):
            print(f"    {name:34s} {seconds:7.2f} s")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--sequential", action="store_true")
    parser.add_argument("--cache-mib", type=int, default=customers_import.SQLITE_CACHE_MIB)
    parser.add_argument("--pragma", action="append", default=[])
    parser.add_argument("--drop-pragma", action="append", default=[])
    args = parser.parse_args()
    wrap_steps()
    set_pragmas(args.pragma, args.drop_pragma)
    csv_path = Path(tempfile.gettempdir()) / f"rapport-orders-{args.orders}-{args.customers}.csv"
    if not csv_path.exists():
        generate(csv_path, args.orders, args.customers)
    if not args.postgres:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'import.db'}"
            asyncio.run(run(csv_path, url, args))
        return
    with throwaway_server(durable=True) as admin:
        url = asyncio.run(PostgresServer(admin, itertools.count()).fresh_database())
        asyncio.run(run(csv_path, url, args))


if __name__ == "__main__":
    main()
