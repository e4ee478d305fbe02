"""Hostile import files (issue #14): a line-numbered error, never a traceback.

Every case goes through the functions ``rapport import`` runs
(:func:`storage.customers_import.import_customers_file`, ``import_orders_file``), and the CLI's
exit status is checked through typer's CliRunner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.settings import LOCALES
from bot.core.importing import MAX_FIELD_CHARS
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
ORDERS_HEADER = "order_id,customer_ref,amount,status,created_at,paid_at\n"
CIPHER = PersonalDataCipher(new_key())


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    url = database_url
    made = make_engine(url)
    await upgrade(url, engine=made)
    try:
        yield made
    finally:
        await made.dispose()


async def customers(engine: AsyncEngine, path: Path) -> ImportReport:
    return await import_customers_file(
        engine, path, cipher=CIPHER, locales=LOCALES, now=NOW, batch_size=100
    )


async def orders(engine: AsyncEngine, path: Path) -> ImportReport:
    return await import_orders_file(engine, path, shop_currency="CNY", now=NOW, batch_size=100)


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(metadata.tables[table])
        return int((await conn.execute(query)).scalar_one())


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def reasons(report: ImportReport) -> dict[int, str]:
    return dict(report.rejected)


# -- the file cannot be read: nothing is committed, the error names the line --------------------


@pytest.mark.parametrize(
    ("name", "data", "line", "words"),
    [
        ("latin1.csv", "customer_ref,name\nC1,Ann\nC2,José\n".encode("latin-1"), 3, "not UTF-8"),
        ("gbk.csv", "customer_ref,name\nC1,王小明\n".encode("gbk"), 2, "not UTF-8"),
        ("utf16.csv", "customer_ref,name\nC1,Ann\n".encode("utf-16"), 1, "UTF-16"),
        ("utf16.jsonl", '{"customer_ref": "C1"}\n'.encode("utf-16"), 1, "UTF-16"),
        ("latin1.jsonl", '{"customer_ref": "C1", "name": "José"}\n'.encode("latin-1"), 1, "UTF-8"),
        ("random.csv", bytes(range(128, 256)) * 4, 1, "not UTF-8"),
        ("bom-less-utf16.csv", "customer_ref,name\n".encode("utf-16-le"), 1, "NUL"),
    ],
)
async def test_an_undecodable_file_names_its_line_and_commits_nothing(
    engine: AsyncEngine, tmp_path: Path, name: str, data: bytes, line: int, words: str
) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(FileFormatError, match=rf"{name}:{line}: .*{words}"):
        await customers(engine, path)
    assert await count(engine, "customer") == 0


async def test_a_bad_byte_after_2000_good_rows_commits_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    good = "".join(f"C{i},Name {i}\n" for i in range(2000))
    path = write(tmp_path, "late.csv", b"customer_ref,name\n" + good.encode() + b"C9,\xff\n")
    with pytest.raises(FileFormatError, match=r"late.csv:2002: not UTF-8"):
        await customers(engine, path)
    assert await count(engine, "customer") == 0


async def test_an_unclosed_quote_is_a_broken_file(engine: AsyncEngine, tmp_path: Path) -> None:
    body = 'C1,"never closed\n' + "more text\n" * 20_000
    path = write(tmp_path, "quote.csv", "customer_ref,name\nC0,Fine\n" + body)
    with pytest.raises(FileFormatError, match=r"quote.csv:3: .*longer than .*quote"):
        await customers(engine, path)
    assert await count(engine, "customer") == 0


# -- bad rows: each is named, the good ones are committed and counted ---------------------------


async def test_a_field_over_the_cap_rejects_only_its_row(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    huge = "x" * (MAX_FIELD_CHARS + 1)
    path = write(tmp_path, "big.csv", f"customer_ref,name\nC1,{huge}\nC2,Bo\n")
    report = await customers(engine, path)
    assert reasons(report) == {2: f"a field is longer than {MAX_FIELD_CHARS} characters"}
    assert (report.created, await count(engine, "customer")) == (1, 1)
    jsonl = write(tmp_path, "big.jsonl", f'{{"customer_ref": "C3", "name": "{huge}"}}\n')
    report = await customers(engine, jsonl)
    assert reasons(report) == {1: f"name is longer than {MAX_FIELD_CHARS} characters"}


async def test_deep_nesting_and_wrong_json_types_are_rejected(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    lines = [
        '{"customer_ref": "C1", "name": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"customer_ref": "C2", "name": ["list"]}',
        '{"customer_ref": "C3", "name": NaN}',
        '{"customer_ref": "C4", "tags": [["nested"]]}',
        '{"customer_ref": "C5", "name": {"first": "Ann"}}',
        '{"customer_ref": "C6", "name": "\\u0000hidden"}',
        '{"customer_ref": "C7", "name": "\\ud800"}',
        '{"customer_ref": ' + "9" * 5000 + "}",
        "[1, 2]",
        '{"customer_ref": "C8", "name": "Fine", "tags": ["a", "b"]}',
        '{"customer_ref": 12345}',
        '{"customer_ref": "C9", "timezone": "' + "9" * 5000 + '"}',
    ]
    path = write(tmp_path, "types.jsonl", "\n".join(lines) + "\n")
    report = await customers(engine, path)
    found = reasons(report)
    assert found == {
        1: "not a row: JSON nested too deeply",
        2: "name must be text, not a list",
        3: "name must be text, not a number",
        4: "tags must be text or a list of text; one is a list",
        5: "name must be text, not an object",
        6: "name contains a NUL byte",
        7: "name is not valid Unicode (a lone surrogate)",
        8: "not valid JSON (a number too long to read)",
        9: "not a JSON object",
        12: "timezone '9999999999999999999999999999999999999999'… is not an IANA time zone",
    }
    assert report.created == 2 and await count(engine, "customer") == 2


async def test_nul_bytes_in_a_csv_name_are_rejected(engine: AsyncEngine, tmp_path: Path) -> None:
    path = write(tmp_path, "nul.csv", b"customer_ref,name\nC1,An\x00n\nC2,=cmd|' /C calc'!A0\n")
    report = await customers(engine, path)
    assert reasons(report) == {2: "name contains a NUL byte"}
    assert report.created == 1  # a formula is stored as written, and neutralised on export


async def test_amounts_and_dates_outside_the_database_are_rejected_the_rest_commits(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    rows = [
        "O1,C1,99999999999999999999,pending,2025-01-01,",
        "O2,C1,1e300,pending,2025-01-01,",
        "O3,C1,5,pending,9999-12-31T23:00:00-05:00,",
        "O4,C1,5,pending,2999-01-01,",
        "O5,C1,5,paid,2025-01-01,2026-01-07T12:00:01Z",
        "O6,C1,5,pending,1969-12-31,",
        "O7,C1,1e-9999999999,pending,2025-01-01,",
        "O8,C1,12.50,paid,2025-01-01,2025-01-02",
        "O9,C2,7,pending,2026-01-06T11:00:00Z,",
    ]
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n".join(rows) + "\n")
    report = await orders(engine, path)
    found = reasons(report)
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 8]
    assert "larger than the largest amount" in found[2] and "larger" in found[3]
    assert "out of range once converted to UTC" in found[4]
    assert found[5] == "created_at is more than a day in the future"
    assert found[6] == "paid_at is more than a day in the future"
    assert "before 1970-01-01" in found[7] and "more than two decimals" in found[8]
    assert (report.created, report.customers_created) == (2, 2)
    assert await count(engine, "customer_order") == 2


async def test_a_key_twice_in_one_file_keeps_the_first_and_names_both_lines(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    rows = ["O1,C1,5,paid,2025-01-01,2025-01-01", "O2,C1,6,pending,2025-01-01,"]
    rows += ["O1,C1,9,refunded,2025-01-01,2025-01-01"]
    path = write(tmp_path, "twice.csv", ORDERS_HEADER + "\n".join(rows) + "\n")
    report = await orders(engine, path)
    assert report.rejected == [(4, "order_id O1 is also on line 2")]
    assert report.created == 2
    async with engine.connect() as conn:
        table = metadata.tables["customer_order"]
        query = select(table.c.amount_cents).where(table.c.order_id == "O1")
        assert (await conn.execute(query)).scalar_one() == 500
    jsonl = write(tmp_path, "twice.jsonl", '{"customer_ref": "C1"}\n\n{"customer_ref": "C1"}\n')
    assert (await customers(engine, jsonl)).rejected == [(3, "customer_ref C1 is also on line 1")]


# -- the command: exit status and what it says -------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", new_key())
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["import", *args, "--quiet"])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_exit_status_says_whether_every_row_went_in(shop: Path) -> None:
    good = write(shop, "good.csv", ORDERS_HEADER + "O1,C1,5,paid,2025-01-01,2025-01-02\n")
    code, out, err = run("orders", str(good))
    assert code == 0 and err == ""
    assert "1 rows read, 1 committed (1 created, 0 updated, 0 unchanged), 0 rejected" in out
    mixed = write(shop, "mixed.csv", ORDERS_HEADER + "O2,C1,5,lost,2025-01-01,\nO3,C1,5,paid,x,\n")
    code, out, err = run("orders", str(mixed))
    assert code == 1
    assert f"{mixed}:2: status 'lost'" in err and f"{mixed}:3: created_at 'x'" in err
    assert "2 rows read, 0 committed" in out and "2 of 2 rows were rejected" in err
    broken = write(shop, "broken.jsonl", b'{"customer_ref": "C1"}\n{"name": "\xe9"}\n')
    code, out, err = run("customers", str(broken))
    assert code == 2 and out == ""
    assert f"{broken}:2: not UTF-8" in err and "nothing was imported" in err
