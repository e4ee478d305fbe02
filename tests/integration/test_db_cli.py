"""``rapport db check``, ``rapport db upgrade`` and ``rapport backup`` (issue #13).

The backup test copies a SQLite database while another *process* keeps committing to it, so
the claim "consistent while the bot runs" is tested, not assumed."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from typer.testing import CliRunner

from bot.app.cli import app
from storage.engine import make_engine
from storage.migrate import alembic_config, downgrade, upgrade

runner = CliRunner()
SCRIPT = ScriptDirectory.from_config(alembic_config("sqlite://"))
(HEAD,) = SCRIPT.get_heads()
PREVIOUS = str(SCRIPT.get_revision(HEAD).down_revision)


def rapport(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    return database_url


async def test_check_says_what_to_do_before_and_after_an_upgrade(shop: str) -> None:
    await upgrade(shop)
    await downgrade(shop, PREVIOUS)
    code, out = await asyncio.to_thread(rapport, "db", "check")
    assert code == 1
    assert f"database is at {PREVIOUS}, the code at {HEAD}: run `rapport db upgrade`" in out
    code, out = await asyncio.to_thread(rapport, "db", "upgrade")
    assert code == 0 and f"database is at the code's head ({HEAD})" in out
    code, out = await asyncio.to_thread(rapport, "db", "check", "--json")
    assert code == 0
    assert json.loads(out) == {
        "at_head": True,
        "database": [HEAD],
        "code": [HEAD],
        "unknown": [],
        "message": f"database is at the code's head ({HEAD})",
    }


async def test_check_names_a_database_written_by_a_newer_release(shop: str) -> None:
    await upgrade(shop)
    engine = make_engine(shop)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        await engine.dispose()
    code, out = await asyncio.to_thread(rapport, "db", "check", "--json")
    assert code == 1
    state = json.loads(out)
    assert state["unknown"] == ["0999"] and not state["at_head"]
    assert "migrated by a newer release of rapport" in state["message"]


def test_check_of_a_missing_sqlite_file_does_not_create_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nothing-here.db"
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    code, out = rapport("db", "check")
    assert code == 2 and f"no database file at {missing}" in out
    assert not missing.exists()


WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
n = 0
print("ready", flush=True)
while True:
    n += 1
    db.execute("BEGIN IMMEDIATE")
    # two rows per transaction: a torn copy would show an odd count
    db.execute("INSERT INTO burst (n, half) VALUES (?, 0)", (n,))
    db.execute("INSERT INTO burst (n, half) VALUES (?, 1)", (n,))
    db.execute("COMMIT")
"""


async def test_backup_of_a_database_being_written_is_consistent_and_at_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade(url)
    with sqlite3.connect(database) as setup:
        setup.execute("CREATE TABLE burst (n INTEGER NOT NULL, half INTEGER NOT NULL)")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let it commit a few thousand transactions first
        copies = []
        for i in range(3):
            target = tmp_path / f"copy-{i}.db"
            code, out = await asyncio.to_thread(rapport, "backup", str(target))
            assert code == 0, out
            assert f"backed up to {target}" in out
            copies.append(target)
    finally:
        writer.kill()
        writer.wait()
    counts = []
    for copy in copies:
        assert not Path(f"{copy}-wal").exists()  # self-contained
        with sqlite3.connect(copy) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            (rows,) = db.execute("SELECT count(*) FROM burst").fetchone()
            (pairs,) = db.execute("SELECT count(DISTINCT n) FROM burst").fetchone()
        assert rows > 0 and rows == 2 * pairs  # whole transactions only
        counts.append(rows)
    assert counts == sorted(counts)  # each copy is a later snapshot
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{copies[-1]}")
    code, out = await asyncio.to_thread(rapport, "db", "check")
    assert code == 0 and "at the code's head" in out


@pytest.mark.parametrize(
    ("url", "target", "expected"),
    [
        ("postgresql+asyncpg://u@localhost/shop", "b.db", "back up PostgreSQL with pg_dump"),
        ("sqlite+aiosqlite://", "b.db", "an in-memory database cannot be backed up"),
        ("sqlite+aiosqlite:///{tmp}/absent.db", "b.db", "no database file at"),
        ("sqlite+aiosqlite:///{tmp}/live.db", "exists.db", "exists.db exists; choose another"),
        ("sqlite+aiosqlite:///{tmp}/live.db", "live.db", "must not be the database itself"),
        ("sqlite+aiosqlite:///{tmp}/live.db", "no/such/dir/b.db", "no directory"),
    ],
)
def test_backup_refuses_clearly_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, target: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    sqlite3.connect(tmp_path / "live.db").close()
    (tmp_path / "exists.db").write_bytes(b"keep me")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url.format(tmp=tmp_path))
    code, out = rapport("backup", target)
    assert code == 2 and expected in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "exists.db").read_bytes() == b"keep me"
