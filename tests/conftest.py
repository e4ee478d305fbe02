"""Fixtures for every kind of test: the PostgreSQL server (see :mod:`tests.postgres_server`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.postgres_server import NoPostgres, PostgresServer, postgres_server, required


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
