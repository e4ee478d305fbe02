"""The scheduler (:mod:`scheduler`) with real APScheduler on real SQLite files.

Each "process" is a :class:`Scheduler` with its own engine and runtime, all in this event loop.
Intervals and lease times are fractions of a second (settings), and tests poll for what they
expect with a timeout instead of sleeping a fixed time. The job targets are the functions of
this module, referenced as ``"tests.integration.test_scheduler:<name>"``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Connection, create_engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler import (
    Lease,
    Scheduler,
    SchedulerTimings,
    UnknownJobTarget,
    current_runtime,
    job_store_url,
    register_runtime,
    reset_runtime,
)
from scheduler.jobs import run
from scheduler.runner import ensure_job_table
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import metadata
from storage.tables.scheduling import APSCHEDULER_JOBS_TABLE, include_object
from tests.postgres_server import stored_utc

# An exception in APScheduler's thread is a bug here, not a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

HERE = "tests.integration.test_scheduler"
TTL = 0.6
PERSONAL = "customer Ada Lovelace, +44 20 7946 0000"
RENEW = 0.1


# --- job targets and their runtime -----------------------------------------------------------


@dataclass
class Shared:
    """What several "processes" of one test observe together."""

    runs: Counter[str] = field(default_factory=Counter)
    active: int = 0
    most_active: int = 0


@dataclass
class Runtime:
    """Stands for the bot's Deps: what a job receives as its first argument."""

    name: str
    shared: Shared = field(default_factory=Shared)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    """When each call came (``time.monotonic()``), in the order of `calls`."""


async def record(runtime: Runtime, *ids: int | str) -> None:
    runtime.calls.append(ids)
    runtime.times.append(time.monotonic())


async def busy(runtime: Runtime) -> None:
    """Counts runs per process and how many run at once, across all processes."""
    shared = runtime.shared
    shared.active += 1
    shared.most_active = max(shared.most_active, shared.active)
    shared.runs[runtime.name] += 1
    try:
        await asyncio.sleep(0.02)
    finally:
        shared.active -= 1


async def fail(runtime: Runtime, *ids: int | str) -> None:
    runtime.calls.append(("failed", *ids))
    raise RuntimeError(PERSONAL)  # its message must not reach the log


def not_async(runtime: Runtime) -> None:
    """Not a coroutine function: refused as a target."""


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def db_url(database_url: str) -> str:
    url = database_url
    await upgrade(url)
    return url


def timings(**overrides: Any) -> SchedulerTimings:
    values: dict[str, Any] = {
        "lease_ttl_seconds": TTL,
        "lease_renew_seconds": RENEW,
        "misfire_grace_seconds": 60,
        "stop_timeout_seconds": 1.0,
    }
    values.update(overrides)
    return SchedulerTimings(**values)


class FreezableLease(Lease):
    """A lease whose process is cut off from the database once frozen: it can neither renew
    nor take the lease, as if it hung, while the row in the database stays as it was."""

    frozen = False

    async def try_acquire(self, now: datetime) -> bool:
        return False if self.frozen else await super().try_acquire(now)

    async def renew(self, now: datetime) -> bool:
        return False if self.frozen else await super().renew(now)


Start = Callable[..., Awaitable[Scheduler]]


@pytest.fixture
async def start(db_url: str) -> AsyncIterator[Start]:
    """Starts a scheduler as a separate process would (its own engine); stops them all."""
    made: list[tuple[Scheduler, AsyncEngine]] = []

    async def _start(runtime: Runtime, *, lease: bool = False, **settings: Any) -> Scheduler:
        engine = make_engine(db_url)
        scheduler = Scheduler(
            timings(**settings),
            engine,
            holder=runtime.name,
            lease=FreezableLease(engine, ttl_seconds=TTL, holder=runtime.name) if lease else None,
        )
        made.append((scheduler, engine))
        await scheduler.start(runtime)
        return scheduler

    yield _start
    for scheduler, engine in made:
        await scheduler.stop()
        await engine.dispose()


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Polls `condition` until it holds; returns how long that took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# --- running jobs ----------------------------------------------------------------------------


async def test_a_job_fires_at_its_time_with_the_runtime_and_ids(start: Start) -> None:
    runtime = Runtime("solo")
    scheduler = await start(runtime)
    assert scheduler.is_leader

    at = soon(0.2)
    await scheduler.schedule_at("greet:1", f"{HERE}:record", at, 42, "A-17")
    [job] = await scheduler.jobs()
    assert (job.id, job.target, job.ids, job.next_run_at) == (
        "greet:1",
        f"{HERE}:record",
        (42, "A-17"),
        at,
    )

    await eventually(lambda: runtime.calls == [(42, "A-17")])
    assert datetime.now(UTC) >= at
    await eventually(lambda: True, 0)
    assert await scheduler.jobs() == []  # a one-off job leaves the store once run


async def test_a_job_due_while_the_bot_was_down_runs_after_restart_once(
    start: Start, db_url: str
) -> None:
    first = Runtime("before")
    scheduler = await start(first)
    interval = 0.4
    began = time.monotonic()
    await scheduler.schedule_at("once", f"{HERE}:record", soon(0.2), 7)
    await scheduler.schedule_every("tick", f"{HERE}:record", interval, 8)
    await scheduler.stop()  # the "process" ends before anything is due
    assert first.calls == []

    # Down while "once" falls due and "tick" misses three runs (at 0.4, 0.8 and 1.2 s).
    await asyncio.sleep(began + 3 * interval + 0.05 - time.monotonic())
    second = Runtime("after")
    await start(second)
    await eventually(lambda: (7,) in second.calls and (8,) in second.calls)
    await eventually(lambda: second.calls.count((8,)) == 2)  # and then it goes on
    ticks = [t for call, t in zip(second.calls, second.times, strict=True) if call == (8,)]
    # The three missed runs coalesced into one: the next tick came on its schedule, about an
    # interval later, not in a burst (timed by when the calls came, not by sleeping, so a
    # slow machine cannot make it flaky).
    assert ticks[1] - ticks[0] >= interval / 2, ticks
    assert second.calls.count((7,)) == 1


async def test_a_job_later_than_the_grace_time_is_skipped(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime("solo")
    scheduler = await start(runtime, misfire_grace_seconds=1)
    with caplog.at_level(logging.WARNING):
        await scheduler.schedule_at("too-late", f"{HERE}:record", soon(-3), 1)
        await scheduler.schedule_at("late", f"{HERE}:record", soon(-0.5), 2)
        await eventually(lambda: runtime.calls == [(2,)])
        await eventually(lambda: "was missed by" in caplog.text)
    assert runtime.calls == [(2,)]
    assert await scheduler.jobs() == []


async def test_a_failing_job_is_logged_and_others_still_run(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime("solo")
    scheduler = await start(runtime)
    with caplog.at_level(logging.INFO):
        await scheduler.schedule_every("flaky", f"{HERE}:fail", 0.05, 5)
        await scheduler.schedule_at("after", f"{HERE}:record", soon(0.15), 6)
        await eventually(lambda: (6,) in runtime.calls and runtime.calls.count(("failed", 5)) >= 3)
    failures = [r for r in caplog.records if r.name == "scheduler.jobs" and r.levelname == "ERROR"]
    assert len(failures) >= 3
    assert f"{HERE}:fail" in failures[0].getMessage()
    assert "RuntimeError" in failures[0].getMessage()
    assert "Ada" not in caplog.text and "7946" not in caplog.text
    assert scheduler.is_leader


async def test_jobs_run_only_in_the_leader_and_a_follower_takes_over(start: Start) -> None:
    shared = Shared()
    a = await start(Runtime("A", shared))
    b = await start(Runtime("B", shared), lease=True)
    assert (a.is_leader, b.is_leader) == (True, False)

    # Scheduled from the follower: the leader finds it in the shared store.
    await b.schedule_every("busy", f"{HERE}:busy", 0.05)
    await eventually(lambda: shared.runs["A"] >= 4)
    assert shared.runs["B"] == 0

    # The leader stops: it finishes its job, releases the lease, and B takes over at once.
    await a.stop()
    a_runs = shared.runs["A"]
    took = await eventually(lambda: b.is_leader)
    assert took <= RENEW + 0.2
    await eventually(lambda: shared.runs["B"] >= 4)
    assert shared.runs["A"] == a_runs

    # B is cut off from the database: it cannot renew, stops running jobs at once, and C
    # takes over only when B's lease has expired.
    c = await start(Runtime("C", shared))
    assert not c.is_leader
    expires = await lease_expiry(b.lease)
    assert isinstance(b.lease, FreezableLease)
    b.lease.frozen = True
    await eventually(lambda: not b.is_leader, timeout=2 * RENEW + 0.2)
    b_runs = shared.runs["B"]
    await eventually(lambda: c.is_leader, timeout=TTL + RENEW + 0.5)
    assert datetime.now(UTC) >= expires
    await eventually(lambda: shared.runs["C"] >= 4)
    assert shared.runs["B"] == b_runs
    assert shared.most_active == 1  # never two runs at once, in any process


async def lease_expiry(lease: Lease) -> datetime:
    async with lease.engine.connect() as conn:
        result = await conn.exec_driver_sql("SELECT expires_at FROM scheduler_lease")
        return stored_utc(result.scalar_one())


async def test_a_leader_that_loses_the_lease_stops_at_once(start: Start) -> None:
    runtime = Runtime("A")
    a = await start(runtime, lease=True)
    assert a.is_leader
    async with a.lease.engine.begin() as conn:  # another process stole it (clock skew, say)
        await conn.exec_driver_sql("UPDATE scheduler_lease SET holder = 'thief'")
    await eventually(lambda: not a.is_leader, timeout=2 * RENEW + 0.2)
    await a.schedule_at("x", f"{HERE}:record", soon(0), 1)
    await asyncio.sleep(2 * RENEW)
    assert runtime.calls == []


async def test_a_job_falls_due_while_a_unit_of_work_holds_the_sqlite_write_lock(
    start: Start, db_url: str
) -> None:
    """Regression: with APScheduler's job store on the event loop's thread this froze the
    whole bot for busy_timeout and lost the job (see scheduler/runner.py)."""
    runtime = Runtime("solo")
    scheduler = await start(runtime)
    await scheduler.schedule_at("during", f"{HERE}:record", soon(0.1), 1)
    engine = make_engine(db_url)
    worst_lag = 0.0
    try:
        async with engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock is ours
            await conn.exec_driver_sql("DELETE FROM scheduler_lease WHERE name = 'nothing'")
            for _ in range(6):
                before = time.monotonic()
                await asyncio.sleep(0.05)
                worst_lag = max(worst_lag, time.monotonic() - before - 0.05)
        await eventually(lambda: runtime.calls == [(1,)])
    finally:
        await engine.dispose()
    assert worst_lag < 0.2


# --- scheduling ------------------------------------------------------------------------------


async def test_unknown_targets_and_bad_arguments_fail_at_scheduling_time(start: Start) -> None:
    scheduler = await start(Runtime("solo"))
    at = soon(60)
    with pytest.raises(UnknownJobTarget, match=re.escape(f"{HERE}:nowhere")):
        await scheduler.schedule_at("j", f"{HERE}:nowhere", at)
    with pytest.raises(
        UnknownJobTarget, match=re.escape("cannot import module 'bot.no_such_module'")
    ):
        await scheduler.schedule_every("j", "bot.no_such_module:sweep", 10)
    with pytest.raises(UnknownJobTarget, match="not an async function"):
        await scheduler.schedule_cron("j", f"{HERE}:not_async", "0 9 * * *")
    with pytest.raises(UnknownJobTarget, match="'module:function'"):
        await scheduler.schedule_at("j", "tests.integration.test_scheduler.record", at)
    with pytest.raises(TypeError, match="argument 2 is a dict"):
        await scheduler.schedule_at("j", f"{HERE}:record", at, 1, {"ticket": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argument 1 is a bool"):
        await scheduler.schedule_at("j", f"{HERE}:record", at, True)
    with pytest.raises(ValueError, match="naive"):
        await scheduler.schedule_at("j", f"{HERE}:record", datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        await scheduler.schedule_every("j", f"{HERE}:record", 0)
    with pytest.raises(ValueError, match="bad crontab"):
        await scheduler.schedule_cron("j", f"{HERE}:record", "61 * * * *")
    with pytest.raises(ValueError, match="unknown time zone"):
        await scheduler.schedule_cron("j", f"{HERE}:record", "0 9 * * *", timezone="Mars/Base")
    with pytest.raises(ValueError, match="non-empty id"):
        await scheduler.schedule_at("", f"{HERE}:record", at)
    assert await scheduler.jobs() == []


async def test_scheduling_needs_a_started_scheduler(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        scheduler = Scheduler(timings(), engine)
        with pytest.raises(RuntimeError, match="start"):
            await scheduler.schedule_at("j", f"{HERE}:record", soon(60))
        await scheduler.stop()  # never started: nothing to do
    finally:
        await engine.dispose()


async def test_replace_keep_cancel_and_list(start: Start) -> None:
    scheduler = await start(Runtime("solo"))
    await scheduler.schedule_at("remind:1", f"{HERE}:record", soon(600), 1)
    await scheduler.schedule_at("remind:1", f"{HERE}:record", soon(900), 1, "again")
    await scheduler.schedule_every("sweep", f"{HERE}:record", 300)
    await scheduler.schedule_cron(
        "daily", f"{HERE}:record", "30 9 * * mon-fri", 3, timezone="Asia/Shanghai"
    )
    jobs = {job.id: job for job in await scheduler.jobs()}
    assert set(jobs) == {"remind:1", "sweep", "daily"}
    assert jobs["remind:1"].ids == (1, "again")  # same id: replaced
    assert "Asia/Shanghai" in jobs["daily"].trigger
    daily = jobs["daily"].next_run_at
    assert daily is not None and daily.tzinfo is UTC
    assert (daily.hour, daily.minute) == (1, 30)  # 09:30 in Shanghai

    # Scheduling an identical periodic job again (a restart) keeps its next run time …
    first_run = jobs["sweep"].next_run_at
    await asyncio.sleep(0.05)
    await scheduler.schedule_every("sweep", f"{HERE}:record", 300)
    await scheduler.schedule_cron(
        "daily", f"{HERE}:record", "30 9 * * mon-fri", 3, timezone="Asia/Shanghai"
    )
    again = {job.id: job for job in await scheduler.jobs()}
    assert again["sweep"].next_run_at == first_run
    # … a changed one replaces it.
    await scheduler.schedule_every("sweep", f"{HERE}:record", 600)
    changed = {job.id: job for job in await scheduler.jobs()}["sweep"]
    assert changed.next_run_at is not None and first_run is not None
    assert changed.next_run_at > first_run + timedelta(seconds=250)

    assert await scheduler.cancel("remind:1")
    assert not await scheduler.cancel("remind:1")
    assert not await scheduler.cancel("never-was")
    assert {job.id for job in await scheduler.jobs()} == {"sweep", "daily"}


# --- the trampoline, the job store and the schema ---------------------------------------------


async def test_the_trampoline_needs_a_registered_runtime(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = Runtime("direct")

    async def without() -> None:  # a fresh context, as a job task outside a scheduler
        with caplog.at_level(logging.ERROR, logger="scheduler.jobs"):
            await run(f"{HERE}:record", 1)

    await asyncio.create_task(without())
    assert "RuntimeError" in caplog.text and runtime.calls == []
    with pytest.raises(RuntimeError, match="register_runtime"):
        await asyncio.create_task(asyncio.to_thread(current_runtime))

    token = register_runtime(runtime)
    try:
        await run(f"{HERE}:record", 1, "x")
        assert current_runtime() is runtime
    finally:
        reset_runtime(token)
    assert runtime.calls == [(1, "x")]


def test_job_store_urls_use_synchronous_drivers() -> None:
    assert job_store_url("sqlite+aiosqlite:///rapport.db") == "sqlite:///rapport.db"
    assert job_store_url("sqlite+aiosqlite:////var/lib/r.db") == "sqlite:////var/lib/r.db"
    assert (
        job_store_url("postgresql+asyncpg://bot:s%40cret@db:5432/rapport")
        == "postgresql+psycopg://bot:s%40cret@db:5432/rapport"
    )
    assert job_store_url("sqlite:///already-sync.db") == "sqlite:///already-sync.db"


async def test_the_job_store_table_is_left_out_of_schema_comparison(
    start: Start, db_url: str
) -> None:
    await start(Runtime("solo"))  # creates apscheduler_jobs
    engine = make_engine(db_url)

    def differences(conn: Connection, /, **opts: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True, **opts})
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            unfiltered = await conn.run_sync(differences)
            filtered = await conn.run_sync(differences, include_object=include_object)
    finally:
        await engine.dispose()
    assert ("remove_table", "apscheduler_jobs") in {(d[0], d[1].name) for d in unfiltered}
    assert filtered == []


async def test_a_worker_that_loses_the_race_to_create_the_job_table_starts_all_the_same(
    database_url: str,
) -> None:
    """Workers starting together on a new database race to create APScheduler's table; on
    PostgreSQL all but one are refused (a unique violation in its catalogue). The loser finds
    the table there and goes on; a refusal that leaves no table is still an error."""
    sync_engine = create_engine(job_store_url(database_url))
    try:
        store = SQLAlchemyJobStore(engine=sync_engine, tablename=APSCHEDULER_JOBS_TABLE)
        real_create = store.jobs_t.create

        def lose_the_race(bind: Any, checkfirst: bool = False) -> None:
            real_create(bind, checkfirst=checkfirst)  # the winner's table
            raise IntegrityError("CREATE TABLE", {}, Exception("duplicate key (typname)"))

        store.jobs_t.create = lose_the_race
        ensure_job_table(store)
        assert inspect(sync_engine).has_table(APSCHEDULER_JOBS_TABLE)

        store.jobs_t.drop(sync_engine)

        def refused(bind: Any, checkfirst: bool = False) -> None:
            raise IntegrityError("CREATE TABLE", {}, Exception("something else"))

        store.jobs_t.create = refused
        with pytest.raises(IntegrityError):
            ensure_job_table(store)
    finally:
        sync_engine.dispose()
