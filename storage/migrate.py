"""Running the alembic migrations of :mod:`storage.migrations`, from code or a shell.

From the application (at start-up, inside its event loop)::

    await storage.migrate.upgrade(settings.database_url)

From a shell, for operators (the URL from ``RAPPORT_DATABASE_URL`` or the argument)::

    python -m storage upgrade [REVISION] [--url URL]     # default: head
    python -m storage downgrade REVISION [--url URL]     # e.g. base, 0001, -1
    python -m storage ini                                # path of the shipped ini

or with the plain alembic command line and the ini shipped inside this package (it works
from an installed package too; ``history``, ``current``, ``upgrade head --sql`` …)::

    alembic -c "$(python -m storage ini)" -x url=sqlite+aiosqlite:///rapport.db current

A new migration: ``alembic -c "$(python -m storage ini)" -x url=<a db at head>
revision --autogenerate --rev-id NNNN -m "what and why"``, then read it line by line and
make it portable (SQLite and PostgreSQL) and self-contained.

A private in-memory SQLite database exists only on its one connection: migrate it by passing
the application's engine (``upgrade(url, engine=engine)``); otherwise the migrations would run
on a database of their own that vanishes at once.

A database already at the code's head (every start but the first after an upgrade) costs a
look at ``alembic_version``: :func:`upgrade` compares the revisions stored there with the
heads of the shipped files (:mod:`storage.revisions`) and imports alembic only when there is
work to do.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import make_engine
from storage.revisions import shipped_revisions

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

#: The alembic script directory (env.py, script.py.mako, versions/).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The ini file for the alembic command line.
INI_PATH = Path(__file__).resolve().parent / "alembic.ini"


#: The table where alembic records the revisions a database is at.
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    """An alembic `Config` for `url` that needs no ini file on disk."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # Config values go through ConfigParser interpolation: escape the '%' of quoted URLs.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "heads", *, engine: AsyncEngine | None = None) -> None:
    """Upgrade the database at `url` to `revision` (default: every head, so features whose
    migrations branch from a common parent can land independently before a merge revision).

    Safe to call from a running event loop. Uses `engine` if given (needed for an in-memory
    database), else a short-lived engine of its own. A database already at every head is
    left alone after one query."""
    if revision == "heads":
        state = await schema_state(url, engine=engine)
        if state.at_head:
            logger.info("database already at the code's head")
            return
    logger.info("migrating database up to %s", revision)
    await _run(url, engine, lambda config: _command().upgrade(config, revision))


async def downgrade(url: str, revision: str, *, engine: AsyncEngine | None = None) -> None:
    """Downgrade the database at `url` to `revision` (``"base"`` drops everything)."""
    logger.info("migrating database down to %s", revision)
    await _run(url, engine, lambda config: _command().downgrade(config, revision))


def _command() -> ModuleType:
    """alembic's command module, imported when a migration runs (not at every start)."""
    from alembic import command

    return command


async def _run(url: str, engine: AsyncEngine | None, action: Callable[[Config], None]) -> None:
    """Run an alembic `action` on an async connection, handing env.py the connection (the
    "connection sharing with asyncio" recipe of alembic's cookbook)."""
    config = alembic_config(url)
    own_engine = engine is None
    # Foreign keys off on SQLite while migrating: see storage/migrations/env.py.
    active = make_engine(url, foreign_keys=False) if engine is None else engine
    try:
        async with active.connect() as connection:

            def run(sync_connection: Connection) -> None:
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(run)
            await connection.commit()
    finally:
        if own_engine:
            await active.dispose()


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database stands against the migrations shipped with this code."""

    database: frozenset[str]
    """The revisions recorded in the database (empty: never migrated)."""
    code: frozenset[str]
    """The head revisions of this code's migrations."""
    unknown: frozenset[str]
    """Revisions in the database that this code does not know (a newer release wrote them)."""

    @property
    def at_head(self) -> bool:
        return self.database == self.code

    def describe(self) -> str:
        """One line for an operator: what state the database is in and what to do."""
        shown = ", ".join(sorted(self.database)) or "none (empty database)"
        heads = ", ".join(sorted(self.code))
        if self.at_head:
            return f"database is at the code's head ({heads})"
        if self.unknown:
            return (
                f"database is at {shown}, which this code does not know (head {heads}): it was "
                "migrated by a newer release of rapport; run that release, or restore a backup "
                "taken before the upgrade"
            )
        return f"database is at {shown}, the code at {heads}: run `rapport db upgrade`"


def code_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """The heads of the migrations shipped with this code, and every revision they know
    (read once per process, without alembic: :mod:`storage.revisions`)."""
    graph = shipped_revisions()
    return graph.heads, graph.known


def database_revisions(connection: Connection) -> frozenset[str]:
    """The revisions recorded in the database (empty: never migrated)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(row[0] for row in rows)


async def schema_state(url: str, *, engine: AsyncEngine | None = None) -> SchemaState:
    """Compare the revisions recorded in the database at `url` with the code's heads."""
    code, known = code_revisions()
    active = make_engine(url) if engine is None else engine
    try:
        async with active.connect() as connection:
            database = await connection.run_sync(database_revisions)
    finally:
        if engine is None:
            await active.dispose()
    return SchemaState(database=database, code=code, unknown=frozenset(database - known))


def main(argv: Sequence[str] | None = None) -> None:
    """The ``python -m storage`` command line (:mod:`storage.__main__`); see the module
    docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m storage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="upgrade to a revision (default head)")
    up.add_argument("revision", nargs="?", default="heads")
    down = sub.add_parser("downgrade", help="downgrade to a revision (base: drop everything)")
    down.add_argument("revision")
    for p in (up, down):
        p.add_argument("--url", default=os.environ.get("RAPPORT_DATABASE_URL"))
    sub.add_parser("ini", help="print the path of the alembic.ini shipped with rapport")
    args = parser.parse_args(argv)
    if args.command == "ini":
        sys.stdout.write(f"{INI_PATH}\n")
        return
    if not args.url:
        parser.error("no database URL: pass --url or set RAPPORT_DATABASE_URL")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s [%(name)s] %(message)s")
    if args.command == "upgrade":
        asyncio.run(upgrade(args.url, args.revision))
    else:
        asyncio.run(downgrade(args.url, args.revision))
