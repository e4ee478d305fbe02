"""Fixtures for every kind of test: the PostgreSQL server (see :mod:`tests.postgres_server`)
and the bot's database in either pass (``--database=sqlite|postgres``: see
:mod:`tests.bot_database`)."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import get_args

import pytest

from bot.app.settings import Framework
from tests import bot_database as bot_db
from tests.postgres_server import NoPostgres, PostgresServer, postgres_server, required


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        bot_db.OPTION,
        choices=bot_db.BACKENDS,
        default="sqlite",
        help="the bot's database in this pass: sqlite (every test) or postgres (only the "
        "tests that give the bot a database, each on a fresh PostgreSQL database)",
    )


FRAMEWORKS: tuple[str, ...] = get_args(Framework)
ON_POSTGRES_ALREADY = {"postgres", "postgres_url", "database_url"}
"""Fixtures of tests that run on PostgreSQL in the ordinary pass."""


def postgres_pass(config: pytest.Config) -> bool:
    return bool(config.getoption(bot_db.OPTION) == "postgres")


def _its_framework(item: pytest.Item) -> bool:
    """In the PostgreSQL pass a test parametrised over the two frameworks runs on one of
    them: the database sees the same core through either adapter, and both adapters are
    proved on PostgreSQL all the same, as the test's name picks aiogram or
    python-telegram-bot (the same choice in every run). A test that starts both in turn
    (``first``, ``second``) keeps the order beginning with the chosen one."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    framework = params.get("framework", params.get("first"))
    if framework not in FRAMEWORKS:
        return True
    name = getattr(item, "originalname", item.name)
    return bool(framework == FRAMEWORKS[zlib.crc32(name.encode()) % len(FRAMEWORKS)])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the PostgreSQL pass: keeps only the tests that give the bot a database and are not
    on PostgreSQL already in the ordinary pass (through ``postgres`` or ``database_url``),
    each on one framework (:func:`_its_framework`), and skips those marked ``sqlite_only``
    with their reason."""
    if not postgres_pass(config):
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        wanted = bot_db.FIXTURE in uses and not uses & ON_POSTGRES_ALREADY
        (kept if wanted and _its_framework(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
    for item in kept:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {marker.kwargs['reason']}"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skipped where there is none, unless
    ``RAPPORT_REQUIRE_POSTGRES=1`` (CI), where its absence fails the test."""
    try:
        server = postgres_server()
        running = server.__enter__()
    except NoPostgres as exc:
        if required():
            pytest.fail(f"PostgreSQL is required here: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield running
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
async def postgres_url(postgres: PostgresServer) -> AsyncIterator[str]:
    """The URL of a fresh, migrated PostgreSQL database of this test's own."""
    url = await postgres.fresh_database()
    try:
        yield url
    finally:
        await postgres.drop(url)


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of this test's own on each backend: an empty SQLite file (not migrated yet)
    and a fresh PostgreSQL database (migrated; migrating again changes nothing)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = await server.fresh_database()
    try:
        yield url
    finally:
        await server.drop(url)


@pytest.fixture
async def bot_database(request: pytest.FixtureRequest) -> AsyncIterator[bot_db.BotDatabases]:
    """The bot's databases in this test (see :mod:`tests.bot_database`): SQLite files, or in
    the PostgreSQL pass fresh PostgreSQL databases, dropped at the end."""
    server = request.getfixturevalue("postgres") if postgres_pass(request.config) else None
    databases = bot_db.BotDatabases(server)
    bot_db.enter(databases)
    try:
        yield databases
    finally:
        bot_db.leave()
        await databases.close()
