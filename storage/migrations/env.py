"""Alembic environment for rapport's schema (:data:`storage.tables.metadata`).

Two ways in:

* **From the application** (:func:`storage.migrate.upgrade`, inside a running event loop):
  the caller opens an async connection and passes its sync face in
  ``config.attributes["connection"]``; this module only configures the context on it.
  Nothing here calls ``asyncio.run`` in that case.
* **From the ``alembic`` command line**: no connection is given, so this module builds an
  async engine with :func:`storage.engine.make_engine` and runs the migrations through
  ``connection.run_sync`` under ``asyncio.run``. The URL comes from ``-x url=…``, else the
  config's ``sqlalchemy.url``, else the ``RAPPORT_DATABASE_URL`` environment variable.
  ``alembic … upgrade head --sql`` (offline mode) prints the SQL instead.

On SQLite the migrations run with foreign keys OFF (batch mode recreates tables; with them ON,
dropping the old copy of a parent table would cascade-delete its children) and inside one
transaction (SQLAlchemy emits BEGIN, so SQLite's DDL is transactional); afterwards
``PRAGMA foreign_key_check`` must find nothing, or the whole upgrade is rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from storage.engine import is_sqlite, make_engine
from storage.tables import metadata
from storage.tables.scheduling import include_object

config = context.config
logger = logging.getLogger("storage.migrations")

target_metadata = metadata

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("RAPPORT_DATABASE_URL")
    )
    if not url:
        raise RuntimeError(
            "no database URL: pass -x url=..., set sqlalchemy.url, or set RAPPORT_DATABASE_URL"
        )
    return url


def run_migrations_offline() -> None:
    """Emit the SQL for the requested migrations instead of running them."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=is_sqlite(url),
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on a (sync-facing) connection that is not yet in a transaction."""
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        transactional_ddl=True,
        compare_type=True,
        include_object=include_object,  # not APScheduler's own job store table
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration left foreign key violations: {problems[:10]}")


async def run_async_migrations() -> None:
    url = database_url()
    engine = make_engine(url, foreign_keys=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
