"""Property: no file makes an import crash or lie (issue #14).

Hypothesis builds customer and order files, CSV and JSON Lines, from good values and hostile
ones (formulas, NUL bytes, huge fields, deep nesting, extreme numbers and dates, wrong JSON
types, repeated keys), then may re-encode them (Latin-1, GBK, UTF-16) or splice in random bytes.
Each file goes through the very functions ``rapport import`` runs, into a fresh copy of a
migrated database. Whatever the file, the import either refuses it as a whole
(:class:`FileFormatError`, and the database is unchanged) or returns a report in which every
rejection names a line of the file and the database holds exactly the committed rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app.settings import LOCALES
from bot.core.importing import CUSTOMER_COLUMNS, ORDER_COLUMNS
from storage.crypto import PersonalDataCipher, new_key
from storage.customers_import import (
    FileFormatError,
    ImportReport,
    import_customers_file,
    import_orders_file,
)
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import metadata

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CIPHER = PersonalDataCipher(new_key())
RUN = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_TEXT = st.sampled_from(
    [
        "=cmd|' /C calc'!A0",
        '+HYPERLINK("http://x.invalid","go")',
        "-1+1",
        "@SUM(A1)",
        "\tTab",
        "a\x00b",
        "x" * 140_000,
        "9" * 5000,
        "99999999999999999999",
        "1e300",
        "-1",
        "NaN",
        "9999-12-31T23:00:00-05:00",
        "2999-01-01",
        "0001-01-01T00:00:00+01:00",
        '"unclosed',
        "line\nbreak",
        "\r",
        "",
    ]
)
GOOD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
KEYS = st.sampled_from(["C1", "C2", "O1", "O2", "O3", "K 1", "x" * 70])
VALUES = st.one_of(
    GOOD_TEXT,
    HOSTILE_TEXT,
    KEYS,
    st.sampled_from(["12.50", "7", "0.01", "2025-01-01T10:00:00Z", "2025-06-01", "paid", "CNY"]),
)
JSON_ODDITIES = st.sampled_from(
    [None, True, 12, 12.5, 10**30, 1e300, float("nan"), ["list"], {"a": 1}, [[["deep"]]]]
)


GOOD_ROWS: dict[tuple[str, ...], st.SearchStrategy[dict[str, object]]] = {
    CUSTOMER_COLUMNS: st.fixed_dictionaries(
        {"customer_ref": st.sampled_from(["C1", "C2", "C3", "C4"])},
        optional={"name": GOOD_TEXT, "tags": st.just("a;b"), "language": st.just("en")},
    ),
    ORDER_COLUMNS: st.fixed_dictionaries(
        {
            "order_id": st.sampled_from(["O1", "O2", "O3", "O4", "O5"]),
            "customer_ref": st.sampled_from(["C1", "C2", "C3"]),
            "amount": st.sampled_from(["12.50", "7", "0.01"]),
            "status": st.just("paid"),
            "created_at": st.just("2025-01-01T10:00:00Z"),
            "paid_at": st.just("2025-01-02T10:00:00+08:00"),
        }
    ),
}


def _rows(
    columns: tuple[str, ...], json_values: bool
) -> st.SearchStrategy[list[dict[str, object]]]:
    """Mostly good rows (keys from small sets, so some repeat), some with a field or two
    replaced by a hostile value."""
    value = st.one_of(VALUES, JSON_ODDITIES) if json_values else VALUES
    spoilt = st.dictionaries(st.sampled_from(columns), value, max_size=2)
    row = st.builds(lambda good, bad: {**good, **bad}, GOOD_ROWS[columns], spoilt)
    return st.lists(row, max_size=10)


def _csv(columns: tuple[str, ...], rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def _jsonl(rows: list[dict[str, object]]) -> str:
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    lines.append("[" * 5000 + "]" * 5000)
    return "\n".join(lines) + "\n"


@st.composite
def files(draw: st.DrawFn, columns: tuple[str, ...]) -> tuple[str, bytes]:
    jsonl = draw(st.booleans())
    rows = draw(_rows(columns, jsonl))
    text = _jsonl(rows) if jsonl else _csv(columns, rows)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "latin-1", "gbk", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 6)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    return ("rows.jsonl" if jsonl else "rows.csv"), data


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "shop.db"
    url = f"sqlite+aiosqlite:///{path}"

    engine = make_engine(url)
    asyncio.run(upgrade(url, engine=engine))
    asyncio.run(engine.dispose())
    return path


async def _import(
    db: Path, path: Path, kind: str
) -> tuple[ImportReport | FileFormatError, dict[str, int]]:
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        try:
            if kind == "customers":
                outcome: ImportReport | FileFormatError = await import_customers_file(
                    engine, path, cipher=CIPHER, locales=LOCALES, now=NOW, batch_size=3
                )
            else:
                outcome = await import_orders_file(
                    engine, path, shop_currency="CNY", now=NOW, batch_size=3
                )
        except FileFormatError as exc:
            outcome = exc
        async with engine.connect() as conn:
            counts = {
                name: int(
                    (
                        await conn.execute(select(func.count()).select_from(metadata.tables[name]))
                    ).scalar_one()
                )
                for name in ("customer", "customer_order")
            }
    finally:
        await engine.dispose()
    return outcome, counts


def _check(template: Path, tmp: Path, name: str, data: bytes, kind: str) -> None:
    db = tmp / "shop.db"
    shutil.copy(template, db)
    path = tmp / name
    path.write_bytes(data)
    outcome, counts = asyncio.run(_import(db, path, kind))
    if isinstance(outcome, FileFormatError):
        event("refused whole")
        assert counts == {"customer": 0, "customer_order": 0}
        assert str(path) in str(outcome)
        return
    event("some rows committed" if outcome.committed else "no row committed")
    lines = data.count(b"\n") + 1
    assert all(1 <= line <= lines for line, _ in outcome.rejected), outcome.rejected
    assert outcome.committed == outcome.rows - len(outcome.rejected)
    if kind == "customers":
        assert counts == {"customer": outcome.created, "customer_order": 0}
    else:
        assert counts == {"customer": outcome.customers_created, "customer_order": outcome.created}


@RUN
@given(file=files(CUSTOMER_COLUMNS))
def test_any_customer_file_is_refused_whole_or_imported_exactly(
    template: Path, tmp_path_factory: pytest.TempPathFactory, file: tuple[str, bytes]
) -> None:
    _check(template, tmp_path_factory.mktemp("c"), *file, "customers")


@RUN
@given(file=files(ORDER_COLUMNS))
def test_any_order_file_is_refused_whole_or_imported_exactly(
    template: Path, tmp_path_factory: pytest.TempPathFactory, file: tuple[str, bytes]
) -> None:
    _check(template, tmp_path_factory.mktemp("o"), *file, "orders")
