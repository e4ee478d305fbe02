"""Timed jobs for every rapport feature: SLA deadlines, reminders, playbooks, campaigns.

Usage (the composition root builds one per process; see :class:`Scheduler`)::

    scheduler = Scheduler(timings, engine)
    await scheduler.start(dispatcher)  # the runtime: every job receives it first
    await scheduler.schedule_every("sla-sweep", "bot.app.jobs.sla:sweep", 30)
    await scheduler.schedule_at(f"revisit-ticket-{ticket.id}", "bot.app.jobs.revisit:send",
                                due_at, ticket.id)
    ...
    await scheduler.stop()

(:mod:`bot.app.runner` starts it so; the core asks for timed jobs through the
:class:`bot.core.ports.JobScheduler` port, and ``tests/integration/test_job_references.py``
resolves every job reference written in code and docs.)

Rules for jobs
--------------
* A job is a ``"module:function"`` target — an ``async def target(runtime, *ids)`` — plus
  plain ``int``/``str`` ids. Never objects: the job store pickles the arguments, and a job
  must load current state from the database when it runs. Ids appear in logs: never use a
  name, phone number or message text as one.
* A job has a stable id of your choosing (``"revisit-ticket-42"``): scheduling it again
  replaces it, cancelling it by id needs no lookup.
* **Jobs must be idempotent.** A job may run twice: the leader can crash after a job did its
  work but before the job store recorded the run, and a process frozen for longer than the
  lease's TTL can overlap with its successor for a moment. Make each effect conditional on
  the state it changes — "mark the ticket warned *where it is not yet warned*", checking the
  row count — so the second run finds nothing to do (the SLA sweep works this way).
* A job may run late: after a restart, jobs that fell due while no process ran them run at
  once if at most ``scheduler_misfire_grace_seconds`` late, else they are skipped (logged).
  Periodic jobs that missed several runs run once.
* A job that raises is logged (type and traceback, not the message) and the scheduler carries
  on; retrying is the job's own business (schedule itself again, or let the next sweep see it).
* On SQLite, schedule after your unit of work has committed, never inside it (see
  :mod:`scheduler.runner`).

Modules: :mod:`scheduler.runner` (the :class:`Scheduler`), :mod:`scheduler.lease` (the leader
lease), :mod:`scheduler.jobs` (the trampoline every stored job calls, and the runtime).
"""

from scheduler.jobs import (
    TRAMPOLINE,
    UnknownJobTarget,
    current_runtime,
    register_runtime,
    reset_runtime,
    resolve,
)
from scheduler.lease import Lease, new_holder_id
from scheduler.runner import ScheduledJob, Scheduler, SchedulerTimings, job_store_url

__all__ = [
    "TRAMPOLINE",
    "Lease",
    "ScheduledJob",
    "Scheduler",
    "SchedulerTimings",
    "UnknownJobTarget",
    "current_runtime",
    "job_store_url",
    "new_holder_id",
    "register_runtime",
    "reset_runtime",
    "resolve",
]
