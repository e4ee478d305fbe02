"""The scheduler: APScheduler 3 with a persistent job store, run by one leader at a time.

Each bot process builds one :class:`Scheduler` over the application's database and starts it.
Every process can schedule and cancel jobs (they go to the shared job store, the
``apscheduler_jobs`` table); only the process holding the leader lease
(:mod:`scheduler.lease`) runs them. The others keep APScheduler paused and try to take the
lease every ``scheduler_lease_renew_seconds``; when the leader stops (it releases the lease)
or dies (its lease expires after ``scheduler_lease_ttl_seconds``), one of them takes over and
runs whatever fell due meanwhile: jobs late by up to ``scheduler_misfire_grace_seconds`` still
run, and a periodic job that missed several runs runs once (``coalesce``), never two instances
at once (``max_instances=1``).

Why APScheduler's ``BackgroundScheduler`` rather than its ``AsyncIOScheduler``
--------------------------------------------------------------------------------------
APScheduler 3's job store is synchronous. Under ``AsyncIOScheduler`` its SQL runs on the
event loop's thread, and on SQLite that deadlocks: a unit of work holds the database's write
lock (``BEGIN IMMEDIATE``) while it awaits, a job falls due, the job store's write blocks the
whole loop waiting for that lock, and the unit of work can never finish — the bot freezes for
``busy_timeout`` (5 s), the job store write fails with "database is locked", and the job is
lost. (Measured: a 5.1 s stall and a lost job.) So here APScheduler's timer and job store run
in APScheduler's own thread, where waiting for a lock harms no one, and the jobs themselves —
coroutines — are handed to the bot's event loop by :class:`_LoopExecutor`. ``schedule_*``,
:meth:`Scheduler.cancel` and :meth:`Scheduler.jobs` are coroutines for the same reason: they
run their job store I/O in a worker thread.

One consequence for callers on SQLite: do not schedule while your own unit of work is open
(its write lock would make the job store wait, and the unit of work waits for you). Commit
first, then schedule — which is right anyway: a job for a ticket that was rolled back must
not exist.

The job store's URL is the application's, with a synchronous driver
(:func:`job_store_url`): ``sqlite+aiosqlite`` → ``sqlite``; ``postgresql+asyncpg`` →
``postgresql+psycopg``, so a PostgreSQL deployment needs ``psycopg[binary]`` (the
``postgres`` extra). An in-memory SQLite database cannot be shared with another engine, so
there the jobs live in memory and do not survive a restart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.base import BaseExecutor, run_coroutine_job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine, event, inspect, make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.clock import SystemClock, require_aware
from bot.core.ports import Clock
from scheduler.jobs import TRAMPOLINE, JobId, check_ids, register_runtime, resolve
from scheduler.lease import Lease
from storage.engine import is_sqlite, is_sqlite_memory, sqlite_pragmas
from storage.tables.scheduling import APSCHEDULER_JOBS_TABLE

logger = logging.getLogger(__name__)

#: Asynchronous drivers of the application and the synchronous ones the job store uses.
SYNC_DRIVERS: dict[str, str] = {
    "sqlite+aiosqlite": "sqlite",
    "postgresql+asyncpg": "postgresql+psycopg",
}


def job_store_url(database_url: str) -> str:
    """The synchronous URL of the application's (asynchronous) database URL."""
    url = make_url(database_url)
    driver = SYNC_DRIVERS.get(url.drivername)
    if driver is not None:
        url = url.set(drivername=driver)
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class SchedulerTimings:
    """How the scheduler keeps time; the composition root builds it from the settings
    (``scheduler_*``), tests use short ones."""

    misfire_grace_seconds: int = 3600
    lease_ttl_seconds: float = 30.0
    lease_renew_seconds: float = 10.0
    stop_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.lease_renew_seconds >= self.lease_ttl_seconds:
            raise ValueError("the lease must be renewed more often than it expires")


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A job in the store, for diagnostics (:meth:`Scheduler.jobs`)."""

    id: str
    target: str
    ids: tuple[JobId, ...]
    trigger: str
    next_run_at: datetime | None


class _LoopExecutor(BaseExecutor):  # type: ignore[misc]  # APScheduler is untyped
    """Runs each due job — the :func:`scheduler.jobs.run` coroutine — as a task on the bot's
    event loop, submitted from APScheduler's thread, with the scheduler's runtime set in the
    task's context."""

    def __init__(self, loop: asyncio.AbstractEventLoop, runtime: object) -> None:
        super().__init__()
        self._loop = loop
        self._runtime = runtime
        self._guard = threading.Lock()
        self._running: set[concurrent.futures.Future[Any]] = set()
        self._closed = False

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if self._closed:
            raise RuntimeError("the scheduler is stopping")
        future = asyncio.run_coroutine_threadsafe(self._run(job, run_times), self._loop)
        with self._guard:
            self._running.add(future)
        future.add_done_callback(partial(self._finished, job.id))

    async def _run(self, job: Any, run_times: list[datetime]) -> Any:
        register_runtime(self._runtime)  # this task's own context only
        return await run_coroutine_job(job, job._jobstore_alias, run_times, self._logger.name)

    def _finished(self, job_id: str, future: concurrent.futures.Future[Any]) -> None:
        with self._guard:
            self._running.discard(future)
        try:
            events = future.result()
        except BaseException as exc:  # cancelled at shutdown, or a bug in the wrapper
            self._run_job_error(job_id, exc, exc.__traceback__)
        else:
            self._run_job_success(job_id, events)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True

    async def drain(self, timeout: float) -> None:
        """Waits up to `timeout` seconds for running jobs, then cancels what is left."""
        with self._guard:
            running = [asyncio.wrap_future(f, loop=self._loop) for f in self._running]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=timeout)
        if pending:
            logger.warning("cancelling %d job(s) still running at shutdown", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)


def _describe(trigger: Any) -> str:
    """``cron[hour='9', minute='30'] Asia/Shanghai``, ``interval[0:00:30]``, ``date[…]``."""
    zone = getattr(trigger, "timezone", None)
    if isinstance(trigger, CronTrigger) and zone is not None:
        return f"{trigger} {zone}"
    return str(trigger)


def _quiesce(aps: Any) -> None:
    """Waits (in a worker thread) for a pass over the job store that began before a pause."""
    with aps._jobstores_lock:
        pass


class _Background(BackgroundScheduler):  # type: ignore[misc]  # APScheduler is untyped
    """APScheduler's thread, looking at the job store only while running. (Its main loop
    makes one more pass after ``shutdown()``, with the state already STOPPED — not PAUSED,
    the only state it skips — and with job store and executor shut: that pass would submit
    jobs nowhere, then crash the thread on a one-off job it can no longer remove.)"""

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        wait: float | None = super()._process_jobs()
        return wait


class Scheduler:
    """Schedules jobs by ``"module:function"`` target with id-only arguments, and runs them
    in the one process that holds the leader lease.

    ``runtime``, given to :meth:`start`, is what every job target receives first
    (``await target(runtime, *ids)``); ``clock`` dates the lease (default: the system
    clock); ``holder`` names this process in the lease (default: ``hostname:pid:random``);
    ``lease`` replaces the lease (tests)."""

    def __init__(
        self,
        timings: SchedulerTimings,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        holder: str | None = None,
        lease: Lease | None = None,
    ) -> None:
        self._timings = timings
        self._engine = engine
        self._clock: Clock = clock or SystemClock()
        self.lease = lease or Lease(engine, ttl_seconds=timings.lease_ttl_seconds, holder=holder)
        self._aps: Any = None
        self._executor: _LoopExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._leader = False
        self._valid_until = 0.0  # time.monotonic() at which our lease lapses unless renewed

    @property
    def holder(self) -> str:
        """This process's id in the lease."""
        return self.lease.holder

    @property
    def is_leader(self) -> bool:
        """Whether this process holds the lease and runs the jobs."""
        return self._leader

    @property
    def running(self) -> bool:
        return self._aps is not None

    # --- life cycle --------------------------------------------------------------------------

    async def start(self, runtime: object) -> None:
        """Starts APScheduler paused (so this process can schedule at once), tries to take
        the lease and keeps trying, or renewing, in the background. Every job this process
        runs receives `runtime` first."""
        if self._aps is not None:
            raise RuntimeError("the scheduler is already running")
        timings = self._timings
        loop = asyncio.get_running_loop()
        executor = _LoopExecutor(loop, runtime)
        store = self._job_store()
        await asyncio.to_thread(ensure_job_table, store)
        aps = _Background(
            jobstores={"default": store},
            executors={"default": executor},
            job_defaults={
                "misfire_grace_time": timings.misfire_grace_seconds,
                "coalesce": True,
                "max_instances": 1,
            },
            timezone=UTC,
            daemon=True,
        )
        await asyncio.to_thread(aps.start, paused=True)
        self._aps, self._executor = aps, executor
        await self._tick()
        self._task = loop.create_task(self._keep_lease(), name=f"scheduler-lease {self.holder}")
        logger.info("scheduler started as %s (leader: %s)", self.holder, self._leader)

    async def stop(self) -> None:
        """Stops running jobs (waiting up to ``scheduler_stop_timeout_seconds`` for those in
        progress), then releases the lease so another process takes over at once."""
        aps, executor = self._aps, self._executor
        if aps is None or executor is None:
            return
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._leader = False
        self._aps = self._executor = None
        aps.pause()
        await asyncio.to_thread(_quiesce, aps)
        await asyncio.to_thread(aps.shutdown, wait=False)  # no new job starts after this
        await executor.drain(self._timings.stop_timeout_seconds)
        try:
            await self.lease.release()
        except Exception as exc:
            logger.warning("could not release the scheduler lease: %s", type(exc).__name__)
        logger.info("scheduler %s stopped", self.holder)

    def _job_store(self) -> Any:
        url = self._engine.url
        if is_sqlite_memory(url):
            logger.warning("in-memory database: scheduled jobs will not survive a restart")
            return MemoryJobStore()
        sync_url = job_store_url(url.render_as_string(hide_password=False))
        engine = create_engine(sync_url, pool_pre_ping=not is_sqlite(sync_url))
        if is_sqlite(sync_url):
            pragmas = tuple(p for p in sqlite_pragmas() if "foreign_keys" not in p)

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                try:
                    for pragma in pragmas:
                        cursor.execute(pragma)
                finally:
                    cursor.close()

        return SQLAlchemyJobStore(engine=engine, tablename=APSCHEDULER_JOBS_TABLE)

    # --- the lease ---------------------------------------------------------------------------

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self._timings.lease_renew_seconds)
            await self._tick()

    async def _tick(self) -> None:
        """One renewal (leader) or acquisition attempt (follower). A leader that cannot
        confirm its lease before it lapses — refused, a database error, or no answer in
        time — stops running jobs at once."""
        aps = self._aps
        if aps is None:
            return
        ttl = self.lease.ttl.total_seconds()
        started = time.monotonic()
        budget = self._valid_until - started if self._leader else ttl
        held = False
        try:
            async with asyncio.timeout(max(budget, 0.0)):
                now = self._clock.now()
                if self._leader:
                    held = await self.lease.renew(now)
                else:
                    held = await self.lease.try_acquire(now)
        except TimeoutError:
            logger.warning("scheduler lease: no answer from the database in time")
        except Exception as exc:
            logger.warning("scheduler lease: %s from the database", type(exc).__name__)
        if held:
            self._valid_until = started + ttl
            if not self._leader:
                self._leader = True
                aps.resume()
                logger.info("scheduler %s took the lease: running jobs", self.holder)
            else:
                aps.wakeup()  # pick up jobs that other processes added meanwhile
        elif self._leader:
            self._leader = False
            aps.pause()
            logger.warning("scheduler %s lost the lease: no longer running jobs", self.holder)

    # --- scheduling --------------------------------------------------------------------------

    async def schedule_at(self, job_id: str, target: str, at: datetime, *ids: JobId) -> None:
        """Runs ``target(runtime, *ids)`` once at `at` (aware; in the past: as soon as the
        leader can, within the misfire grace). Replaces any job with the same id."""
        at = require_aware(at, "job time")
        await self._add(job_id, target, ids, DateTrigger(run_date=at, timezone=UTC), same=None)

    async def schedule_every(
        self,
        job_id: str,
        target: str,
        seconds: float,
        *ids: JobId,
        start_at: datetime | None = None,
    ) -> None:
        """Runs ``target(runtime, *ids)`` every `seconds` (first at `start_at`, default one
        interval from now). If the job exists with the same target, ids and interval, it is
        left as it is — so a process that restarts every few seconds does not keep pushing a
        periodic job's next run into the future."""
        if seconds <= 0:
            raise ValueError(f"job {job_id!r}: the interval must be positive, got {seconds}")
        start = require_aware(start_at, "start time") if start_at is not None else None
        trigger = IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC)

        def same(old: Any) -> bool:
            return (
                isinstance(old, IntervalTrigger)
                and old.interval == trigger.interval
                and (start is None or old.start_date == trigger.start_date)
            )

        await self._add(job_id, target, ids, trigger, same=same)

    async def schedule_cron(
        self, job_id: str, target: str, cron: str, *ids: JobId, timezone: str = "UTC"
    ) -> None:
        """Runs ``target(runtime, *ids)`` on a crontab schedule (``"0 9 * * mon-fri"``) in the
        IANA `timezone`. An identical existing job is left as it is (see
        :meth:`schedule_every`)."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"job {job_id!r}: unknown time zone {timezone!r}") from None
        try:
            trigger = CronTrigger.from_crontab(cron, timezone=zone)
        except ValueError as exc:
            raise ValueError(f"job {job_id!r}: bad crontab {cron!r}: {exc}") from None

        def same(old: Any) -> bool:
            return (
                isinstance(old, CronTrigger)
                and str(old) == str(trigger)
                and str(old.timezone) == str(trigger.timezone)
            )

        await self._add(job_id, target, ids, trigger, same=same)

    async def cancel(self, job_id: str) -> bool:
        """Removes the job `job_id`; False (and no error) if there is none."""
        aps = self._require_running()

        def remove() -> bool:
            try:
                aps.remove_job(job_id)
            except JobLookupError:
                return False
            return True

        removed = await asyncio.to_thread(remove)
        if removed:
            logger.info("cancelled job %s", job_id)
        return removed

    async def jobs(self) -> list[ScheduledJob]:
        """Every job in the store, by next run time (diagnostics)."""
        aps = self._require_running()
        found = await asyncio.to_thread(aps.get_jobs)
        return [
            ScheduledJob(
                id=job.id,
                target=job.args[0] if job.args else "",
                ids=tuple(job.args[1:]),
                trigger=_describe(job.trigger),
                next_run_at=job.next_run_time.astimezone(UTC) if job.next_run_time else None,
            )
            for job in found
        ]

    def _require_running(self) -> Any:
        if self._aps is None:
            raise RuntimeError("the scheduler is not running: await scheduler.start() first")
        return self._aps

    async def _add(
        self,
        job_id: str,
        target: str,
        ids: tuple[object, ...],
        trigger: Any,
        *,
        same: Callable[[Any], bool] | None,
    ) -> None:
        if not job_id:
            raise ValueError("a job needs a stable, non-empty id")
        resolve(target)  # fails now, naming the target, rather than at run time
        args = (target, *check_ids(ids))
        aps = self._require_running()

        def add() -> bool:
            if same is not None:
                existing = aps.get_job(job_id)
                if (
                    existing is not None
                    and tuple(existing.args) == args
                    and same(existing.trigger)
                ):
                    return False
            aps.add_job(
                TRAMPOLINE,
                trigger=trigger,
                args=args,
                id=job_id,
                name=target,
                replace_existing=True,
            )
            return True

        if await asyncio.to_thread(add):
            logger.info("scheduled job %s: %s %s", job_id, target, trigger)
        else:
            logger.debug("job %s already scheduled as asked", job_id)


def ensure_job_table(store: Any) -> None:
    """Creates the job store's table if it is missing, before APScheduler starts (which then
    finds it). Workers starting together on a new database race to create it: PostgreSQL then
    refuses all but one (a unique violation on its catalogue, or "already exists"), and the
    loser would die at start-up. A refusal after which the table exists is that race lost,
    and is no error."""
    if not isinstance(store, SQLAlchemyJobStore):
        return
    try:
        store.jobs_t.create(store.engine, checkfirst=True)
    except (IntegrityError, ProgrammingError):
        if not inspect(store.engine).has_table(store.jobs_t.name):
            raise
        logger.info("another process created the job store's table at the same moment")
