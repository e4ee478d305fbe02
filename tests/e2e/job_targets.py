"""Scheduler job targets for real-process tests (``tests.e2e.job_targets:<name>``): a worker
started with the repository on its ``PYTHONPATH`` runs them like any job of the app.

Kept apart from the test modules so that a worker loading a target imports nothing of pytest
or the emulator."""

from __future__ import annotations

import os

from sqlalchemy import text

from storage.engine import make_engine

RUNS_TABLE = "test_job_run"
"""Where :func:`noted` writes: one row per run, (tag, pid of the process that ran it)."""
CREATE_RUNS = f"CREATE TABLE {RUNS_TABLE} (tag VARCHAR(40) NOT NULL, pid INTEGER NOT NULL)"


async def noted(runtime: object, tag: str) -> None:
    """Records that this process ran the job `tag`, in the database of
    ``RAPPORT_DATABASE_URL`` (a table the test created: :data:`CREATE_RUNS`)."""
    del runtime  # the job needs nothing of the bot
    engine = make_engine(os.environ["RAPPORT_DATABASE_URL"])
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f"INSERT INTO {RUNS_TABLE} (tag, pid) VALUES (:tag, :pid)"),
                {"tag": tag, "pid": os.getpid()},
            )
    finally:
        await engine.dispose()
