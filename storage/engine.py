"""Building the one `AsyncEngine` the application uses.

SQLite (the default, through aiosqlite) gets a handful of per-connection settings so that a
single file copes with a bot's concurrency:

* ``journal_mode=WAL`` — readers never block the writer and vice versa; the file can be
  backed up while the bot runs (``sqlite3 rapport.db ".backup copy.db"``).
* ``foreign_keys=ON`` — SQLite ignores foreign keys unless told otherwise, per connection.
* ``busy_timeout=5000`` — a writer waits up to five seconds for the lock instead of failing.
* ``synchronous=NORMAL`` — safe with WAL (a power cut may lose the last commits, never
  corrupts) and much faster than FULL.

SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN``: the driver's legacy transaction
handling skips BEGIN before SELECT and SAVEPOINT, which breaks savepoints and transactional
DDL. By default the BEGIN is ``BEGIN IMMEDIATE``: a transaction takes the write lock when it
starts, so two writers queue on ``busy_timeout`` instead of the second failing with
``SQLITE_BUSY`` after it has already read (SQLite cannot upgrade a stale read snapshot to a
write). The price is that read-only transactions queue behind writers too; pass
``sqlite_immediate=False`` for read-mostly tools such as reports, or read through
:func:`read_only` (the same engine and pool, plain ``BEGIN``) for a probe that must answer
while a long write holds the lock.

PostgreSQL (``postgresql+asyncpg://…``, install the ``postgres`` extra) needs none of this
and gets a plain engine with ``pool_pre_ping``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

logger = logging.getLogger(__name__)

READ_ONLY = "rapport_read_only"
"""Execution option: on SQLite this connection begins with a plain ``BEGIN``, which takes no
lock until it writes (see :func:`read_only`); other databases ignore it."""


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """`engine` for reads only: the same pool, but on SQLite its transactions start with a
    plain (deferred) ``BEGIN``, so they neither wait for a writer holding the lock nor make
    writers wait (WAL readers see the last commit). A write through it can fail with
    ``SQLITE_BUSY``; use it for reads."""
    return engine.execution_options(**{READ_ONLY: True})


def sqlite_pragmas(*, foreign_keys: bool = True) -> tuple[str, ...]:
    """The PRAGMAs run on every new SQLite connection, in order, outside any transaction."""
    return (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}",
        "PRAGMA busy_timeout=5000",
        "PRAGMA synchronous=NORMAL",
        # Deleted and overwritten content is zeroed, not left in free pages: erasing a
        # customer (SPEC §12) must leave nothing behind in the file.
        "PRAGMA secure_delete=ON",
    )


def is_sqlite(url: str | URL) -> bool:
    """Whether the URL names a SQLite database (any driver)."""
    return make_url(url).get_backend_name() == "sqlite"


def is_sqlite_memory(url: str | URL) -> bool:
    """Whether the URL names a private in-memory SQLite database (``sqlite+aiosqlite://`` or
    ``…/:memory:``), which lives only as long as its single connection."""
    parsed = make_url(url)
    return is_sqlite(parsed) and parsed.database in (None, "", ":memory:")


def make_engine(
    url: str,
    *,
    echo: bool = False,
    sqlite_immediate: bool = True,
    foreign_keys: bool = True,
) -> AsyncEngine:
    """Create the application's async engine for `url`.

    `foreign_keys` matters to SQLite only and is turned off for migrations alone (see
    :mod:`storage.migrate`): recreating a table in batch mode with foreign keys on would
    cascade-delete its children.

    ``sqlite+aiosqlite:///:memory:`` uses a `StaticPool`, so every session of the engine sees
    the same in-memory database (handy in tests; the sessions then share one connection and
    one transaction state, so do not run units of work concurrently on it).
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite_memory(url):
        kwargs["poolclass"] = StaticPool
    elif not is_sqlite(url):
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _install_sqlite_listeners(
            engine,
            begin="BEGIN IMMEDIATE" if sqlite_immediate else "BEGIN",
            pragmas=sqlite_pragmas(foreign_keys=foreign_keys),
        )
    logger.debug("engine created for %s", engine.url.render_as_string(hide_password=True))
    return engine


def _install_sqlite_listeners(
    engine: AsyncEngine, *, begin: str, pragmas: tuple[str, ...]
) -> None:
    """Per-connection PRAGMAs and SQLAlchemy-controlled BEGIN (see the module docstring)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 driver; SQLAlchemy emits BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else begin)


async def scrub(engine: AsyncEngine) -> None:
    """After an erasure: on SQLite, checkpoint the write-ahead log and truncate it, so no old
    page holding erased data survives in the ``-wal`` file (with ``secure_delete`` the main
    file keeps none either). PostgreSQL reclaims dead rows by (auto)vacuum."""
    if not is_sqlite(engine.url) or is_sqlite_memory(engine.url):
        return
    path = engine.url.database
    assert path is not None

    def checkpoint() -> None:  # a plain connection: the engine's own always BEGINs first
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    await asyncio.to_thread(checkpoint)
