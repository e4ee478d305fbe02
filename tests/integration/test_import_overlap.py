"""The order import parses the next batch while one is written (storage.import_pipeline): same
rows, counts and rejections as one batch after the other, and the same state after a failure;
and on SQLite a page cache of its own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import storage.customers_import as customers_import
import storage.import_pipeline as import_pipeline
from bot.core.importing import ORDER_COLUMNS, RowError
from storage.customers_import import ImportReport, import_orders, read_rows
from storage.import_files import FileFormatError
from storage.tables import metadata
from tests.integration import test_hostile_imports
from tests.postgres_server import SQLITE_ONLY

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
REQUIRED = ("order_id", "customer_ref", "amount", "status", "created_at")
BATCH = 10
HEADER = "order_id,customer_ref,amount,status,created_at,paid_at\n"


engine = test_hostile_imports.engine  # the fixture: a migrated engine on each database


@pytest.fixture(autouse=True)
def turns_within_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_pipeline, "TURN_EVERY", 3)


def order_line(i: int, prefix: str) -> str:
    key = f"{prefix}{i:04d},{prefix}C{i % 5}"
    if i % 7 == 3:
        return f"{key},1.00,shipped,2025-06-01T10:00:00,\n"  # a bad status
    return f"{key},{i}.50,paid,2025-06-{1 + i % 9:02d}T10:00:00,2025-06-{1 + i % 9:02d}T10:05:00\n"


def orders_file(tmp_path: Path, n: int, *, tail: bytes = b"", prefix: str = "O") -> Path:
    path = tmp_path / f"orders-{prefix}.csv"
    lines = "".join(order_line(i, prefix) for i in range(n))
    path.write_bytes((HEADER + lines).encode() + tail)
    return path


def rows_of(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    return read_rows(path, ORDER_COLUMNS, REQUIRED)


async def stored(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            name: (
                await conn.execute(select(func.count()).select_from(metadata.tables[name]))
            ).scalar_one()
            for name in ("customer_order", "customer_paid_day", "customer_rfm")
        }


async def run(engine: AsyncEngine, path: Path, *, overlap: bool) -> ImportReport:
    return await import_orders(
        engine, rows_of(path), shop_currency="CNY", now=NOW, batch_size=BATCH, overlap=overlap
    )


async def test_overlapped_and_sequential_imports_agree(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # 95 rows, 81 good: 8 full batches and one of 1; the same file under other keys each way.
    before = await stored(engine)
    overlapped = await run(engine, orders_file(tmp_path, 95, prefix="A"), overlap=True)
    middle = await stored(engine)
    sequential = await run(engine, orders_file(tmp_path, 95, prefix="B"), overlap=False)
    after = await stored(engine)
    assert (overlapped.rows, overlapped.created, len(overlapped.rejected)) == (95, 81, 14)
    assert overlapped.customers_created == 5
    assert [line for line, _ in overlapped.rejected] == [i + 2 for i in range(95) if i % 7 == 3]
    assert overlapped == sequential
    assert {k: middle[k] - before[k] for k in after} == {k: after[k] - middle[k] for k in after}


async def test_a_file_error_in_a_later_batch_leaves_the_batches_before_it_committed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # 30 rows (26 good: two full batches, 6 left), then bytes that are not UTF-8: the reader
    # fails while the second batch is being written; that batch still commits.
    path = orders_file(tmp_path, 30, tail=b"O9999,C1,1.00,paid,2025-06-01T10:00:00,\xff\n")
    report = ImportReport()
    with pytest.raises(FileFormatError, match=":32: not UTF-8"):
        await import_orders(
            engine, rows_of(path), shop_currency="CNY", now=NOW, batch_size=BATCH, report=report
        )
    assert report.created == 20
    assert report.rows == 30 and len(report.rejected) == 4
    assert (await stored(engine))["customer_order"] == 20


async def test_a_failed_write_stops_the_import_and_counts_only_committed_batches(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []

    def tracked() -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
        for line, row in rows_of(orders_file(tmp_path, 95)):
            read.append(line)
            yield line, row

    real = customers_import.upsert_orders
    writes = 0
    read_when_failing: list[int] = []

    async def failing_second(conn: AsyncConnection, latest: Any, **kwargs: Any) -> None:
        nonlocal writes
        writes += 1
        await real(conn, latest, **kwargs)
        if writes == 2:
            read_when_failing.append(len(read))
            raise OperationalError("INSERT …", None, Exception("disk I/O error"))

    monkeypatch.setattr(customers_import, "upsert_orders", failing_second)
    report = ImportReport()
    with pytest.raises(OperationalError):
        await import_orders(
            engine, tracked(), shop_currency="CNY", now=NOW, batch_size=BATCH, report=report
        )
    assert read_when_failing[0] > 23  # the third batch was being parsed meanwhile
    assert writes == 2
    assert report.created == 10  # the first batch; the second rolled back
    assert report.rows == 23  # rows through the second batch's last (line 24); none parsed ahead
    assert (await stored(engine))["customer_order"] == 10


@SQLITE_ONLY
async def test_a_sqlite_import_has_its_own_page_cache_and_gives_it_back(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = customers_import.upsert_orders
    seen: list[int] = []

    async def watching(conn: AsyncConnection, latest: Any, **kwargs: Any) -> None:
        seen.append((await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one())
        await real(conn, latest, **kwargs)

    monkeypatch.setattr(customers_import, "upsert_orders", watching)
    await import_orders(
        engine,
        rows_of(orders_file(tmp_path, 40)),
        shop_currency="CNY",
        now=NOW,
        batch_size=BATCH,
        sqlite_cache_mib=3,
    )
    assert seen == [-3 * 1024] * 4
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one() == -2000
