"""``rapport db …`` (the schema) and ``rapport backup FILE`` (a consistent SQLite copy).

``rapport run`` migrates the database itself at start-up; these commands are for operators
who upgrade before starting the new release, check a restored backup, or copy a live
SQLite database.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings

app = typer.Typer(
    help="The database schema: upgrade it, or check it is at the code's head.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@app.command()
def upgrade() -> None:
    """Apply every migration this release ships (RAPPORT_DATABASE_URL)."""
    from storage.migrate import schema_state
    from storage.migrate import upgrade as migrate_up

    url = load_settings().database_url
    asyncio.run(migrate_up(url))
    typer.echo(asyncio.run(schema_state(url)).describe())


@app.command()
def check(json_output: JsonOption = False) -> None:
    """Say whether the database is at the code's head; exit 1 when it is not (after a
    restore, or before `rapport db upgrade`)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from storage.engine import is_sqlite, is_sqlite_memory
    from storage.migrate import schema_state

    url = load_settings().database_url
    if is_sqlite(url) and not is_sqlite_memory(url):
        database = make_url(url).database or ""
        if not Path(database).is_file():  # reading would create an empty file
            fail(f"no database file at {database}")
    try:
        state = asyncio.run(schema_state(url))
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot read the database: {type(exc).__name__}")
    if json_output:
        payload = {
            "at_head": state.at_head,
            "database": sorted(state.database),
            "code": sorted(state.code),
            "unknown": sorted(state.unknown),
            "message": state.describe(),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(state.describe())
    raise typer.Exit(0 if state.at_head else 1)


def backup(
    target: Annotated[Path, typer.Argument(help="The file to write the copy to.")],
    overwrite: Annotated[bool, typer.Option(help="Replace TARGET if it exists.")] = False,
) -> None:
    """Copy the running SQLite database consistently (SQLite's online backup API).
    PostgreSQL: use pg_dump (README, Backups)."""
    from storage.backup import BackupError, backup_sqlite

    url = load_settings().database_url
    try:
        result = backup_sqlite(url, target, overwrite=overwrite)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(f"backed up to {result.target} ({result.bytes} bytes, {result.pages} pages)")
