"""The bot's database in the tests: an SQLite file, or in the PostgreSQL pass a PostgreSQL
database (issue #13: the whole suite runs on both).

A test that gives the bot a database (``running_bot``, a ``rapport`` process, a CLI command
on the shop's file) names it by an SQLite path, as before, and asks
:func:`bot_database_url` for the URL. In the ordinary pass that is the SQLite file; under
``pytest --database=postgres`` it is a fresh PostgreSQL database of this test's own
(``CREATE DATABASE … TEMPLATE`` a migrated template: milliseconds), the same one each time
the test names the same path (a restart test starts the bot twice on "the same file"),
dropped when the test ends.

Such a test uses the fixture ``bot_database`` (``pytest.mark.usefixtures("bot_database")``,
or as an argument); the PostgreSQL pass runs exactly those tests: the storage tests already
run on both backends in the ordinary pass (the ``database_url`` fixture), and tests without
a database would only repeat themselves. Asking for a URL without the fixture is an error in
both passes, so a test cannot slip out of the PostgreSQL pass unnoticed.

A test of SQLite's own behaviour (its file, its write lock, its backup API), or one that runs
a benchmark (whose figures are SQLite's), is marked ``sqlite_only(reason)`` and skipped in the
PostgreSQL pass with that reason.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import NullPool, create_engine, make_url, text

from scheduler.runner import job_store_url
from storage.engine import is_sqlite
from tests.postgres_server import PostgresServer

OPTION = "--database"
BACKENDS = ("sqlite", "postgres")
FIXTURE = "bot_database"

BOT_DATABASE = pytest.mark.usefixtures(FIXTURE)
"""Marks a test that gives the bot a database: it runs in both passes."""


def sqlite_only(reason: str) -> pytest.MarkDecorator:
    """Marks a test of SQLite's own behaviour: skipped in the PostgreSQL pass, for `reason`."""
    return pytest.mark.sqlite_only(reason=reason)


BENCHMARK_ON_SQLITE = sqlite_only("runs a benchmark, which keeps the bot on SQLite")
"""For a test that runs a benchmark through ``running_bot``: the benchmark's figures (in
docs/performance.md) are SQLite's."""


class BotDatabases:
    """The databases one test gave the bot, by the SQLite path it named them by."""

    def __init__(self, server: PostgresServer | None) -> None:
        self.server = server
        self._urls: dict[Path, str] = {}

    @property
    def backend(self) -> str:
        return "sqlite" if self.server is None else "postgres"

    @staticmethod
    def sqlite_url(path: Path) -> str:
        return f"sqlite+aiosqlite:///{path}"

    async def url(self, path: Path) -> str:
        if self.server is None:
            return self.sqlite_url(path)
        if path not in self._urls:
            self._urls[path] = await self.server.fresh_database()
        return self._urls[path]

    async def close(self) -> None:
        if self.server is not None:
            for url in self._urls.values():
                await self.server.drop(url)
        self._urls.clear()


_current: BotDatabases | None = None
"""The running test's databases (set by the ``bot_database`` fixture; tests run one at a time
in a worker)."""


def enter(databases: BotDatabases) -> None:
    global _current
    _current = databases


def leave() -> None:
    global _current
    _current = None


async def bot_database_url(path: Path) -> str:
    """The URL of the bot's database the test names `path` (see the module docstring).
    Outside a test (a benchmark run from the command line, which reuses ``running_bot``) it
    is the SQLite file."""
    if _current is None:
        if "PYTEST_CURRENT_TEST" not in os.environ:
            return BotDatabases(None).sqlite_url(path)
        raise RuntimeError(
            f"this test gives the bot a database without the {FIXTURE!r} fixture: mark it "
            f'pytest.mark.usefixtures("{FIXTURE}") (tests.bot_database.BOT_DATABASE) so the '
            "PostgreSQL pass runs it too"
        )
    return await _current.url(path)


def read_rows(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows `statement` (portable SQL) reads from the database at `url`, for a test that
    inspects what the bot stored while the bot runs (synchronous, as a condition polled by
    :func:`tests.e2e.conftest.patiently` is; a new connection each time, closed at once)."""
    engine = create_engine(job_store_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(statement), params)]
    finally:
        engine.dispose()


@contextlib.contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Holds the database's write lock while the block runs, as another process's
    ``VACUUM`` or a long migration would: on SQLite the lock on the whole file (``BEGIN
    EXCLUSIVE``: every write of the bot waits, then fails after the busy timeout); on
    PostgreSQL an ``EXCLUSIVE`` lock on every table (reads go on, every write waits)."""
    if is_sqlite(url):
        holder = sqlite3.connect(make_url(url).database or "", timeout=30, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                holder.execute("COMMIT")
        finally:
            holder.close()
        return
    engine = create_engine(job_store_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            tables = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()
