"""A consistent copy of a running SQLite database (``rapport backup FILE``).

Copying the database file with ``cp`` while the bot writes can produce a torn copy, and in WAL
mode the newest transactions live in the ``-wal`` file beside it. SQLite's online backup API
(`sqlite3.Connection.backup`) copies pages from a read transaction, so the copy is one
consistent snapshot even while other connections keep writing; it then holds every committed
transaction up to that moment, WAL included.

PostgreSQL is backed up with its own tools (``pg_dump``; see the README), never by this module.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from storage.engine import is_sqlite, is_sqlite_memory


class BackupError(Exception):
    """The backup cannot be made; the message says why, in one line for an operator."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What was copied: the target file, its size in bytes and its number of pages."""

    target: Path
    bytes: int
    pages: int


def sqlite_file(url: str) -> Path:
    """The database file named by a SQLite `url`, or a `BackupError` for anything else."""
    if not is_sqlite(url):
        raise BackupError(
            "`rapport backup` copies SQLite databases; back up PostgreSQL with pg_dump "
            "(see the README, section Backups)"
        )
    if is_sqlite_memory(url):
        raise BackupError("an in-memory database cannot be backed up")
    database = make_url(url).database
    assert database is not None  # is_sqlite_memory covered None and ""
    path = Path(database)
    if not path.is_file():
        raise BackupError(f"no database file at {path}")
    return path


def backup_sqlite(
    url: str, target: Path, *, overwrite: bool = False, pages: int = 1024
) -> BackupResult:
    """Copy the SQLite database at `url` to `target` with the online backup API.

    Copies `pages` pages per step, so writers are held up only briefly; the result is checked
    with ``PRAGMA integrity_check`` before it is reported. The copy is written beside `target`
    first and renamed into place, so a failed backup never leaves a half-written file under
    the target's name. Refuses to overwrite an existing file unless `overwrite`."""
    source_path = sqlite_file(url)
    target = target.expanduser()
    if target.resolve() == source_path.resolve():
        raise BackupError("the backup file must not be the database itself")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; choose another name or pass --overwrite")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent}")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=pages)
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check: {verdict}")
            (page_count,) = copy.execute("PRAGMA page_count").fetchone()
            # A self-contained file: the copy is a rollback-journal database with no -wal file.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup failed: {exc}") from exc
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    partial.replace(target)
    return BackupResult(target=target, bytes=target.stat().st_size, pages=int(page_count))
