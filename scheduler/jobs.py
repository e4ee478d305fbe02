"""The one callable APScheduler stores, and how a job finds its target and its runtime.

APScheduler persists a job as a reference to a callable plus pickled arguments. Every rapport
job stores the same callable, :func:`run` (``"scheduler.jobs:run"``), with the arguments
``(target, *ids)``: ``target`` is a ``"module:function"`` string naming an ``async def``
function, ``ids`` are plain ``int``/``str`` identifiers (a ticket id, a campaign id…), never
objects. So the job store holds nothing that a refactoring of the domain classes can break,
and nothing personal beyond ids.

At run time :func:`run` imports the target and awaits ``target(runtime, *ids)``, where
``runtime`` is the object the process handed to its :class:`scheduler.Scheduler` (the bot's
:class:`bot.core.dispatch.Dispatcher`: its ``deps`` — services, unit of work, messenger,
clock — and its ``delivery``).

The runtime travels in a :class:`contextvars.ContextVar`. This is the one deliberate piece of
ambient state in the scheduler, and it cannot be avoided: APScheduler persists only references,
so a job cannot carry live objects and must find them in the process that runs it. The
scheduler's executor sets the variable in each job's own task (so two schedulers in one
process — as in the tests — each give their jobs their own runtime); code that calls
:func:`run` directly (a test, a one-off command) uses :func:`register_runtime` first.

A job's exceptions are caught and logged here with the target, the job's ids and the
exception's type and traceback frames, but not the exception's message: messages of database
or HTTP errors quote parameters, which may be personal data. The scheduler carries on.

Targets look like these two (``bot.app.jobs.sla:sweep``, ``bot.app.jobs.revisit:send``)::

    async def sweep(dispatcher: Dispatcher) -> None: ...
    async def send(dispatcher: Dispatcher, ticket_id: int | str) -> None: ...

and must be idempotent (see :mod:`scheduler`).
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

#: The reference APScheduler stores for every rapport job.
TRAMPOLINE = "scheduler.jobs:run"

JobId = int | str
JobTarget = Callable[..., Awaitable[Any]]

_runtime: contextvars.ContextVar[object] = contextvars.ContextVar("scheduler_runtime")


class UnknownJobTarget(ValueError):
    """A job's ``"module:function"`` target does not name an ``async def`` function."""


def register_runtime(runtime: object) -> contextvars.Token[object]:
    """Makes `runtime` what jobs run from the current context (and tasks it starts later)
    receive. Returns a token for :func:`reset_runtime`."""
    return _runtime.set(runtime)


def reset_runtime(token: contextvars.Token[object]) -> None:
    """Undoes the :func:`register_runtime` that returned `token`."""
    _runtime.reset(token)


def current_runtime() -> object:
    """The runtime registered for the running job; raises :class:`RuntimeError` if none."""
    try:
        return _runtime.get()
    except LookupError:
        raise RuntimeError(
            "no scheduler runtime registered: jobs run under scheduler.Scheduler, "
            "or call scheduler.jobs.register_runtime(obj) first"
        ) from None


def resolve(target: str) -> JobTarget:
    """Imports the ``"module:function"`` `target` (``function`` may be dotted, for a
    class attribute) and checks it is an ``async def`` function."""
    module_name, sep, qualname = target.partition(":")
    if not sep or not module_name or not qualname:
        raise UnknownJobTarget(f"job target {target!r} is not of the form 'module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownJobTarget(
            f"job target {target!r}: cannot import module {module_name!r} ({exc})"
        ) from exc
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UnknownJobTarget(
                f"job target {target!r}: {module_name!r} has no attribute {qualname!r}"
            ) from None
    if not inspect.iscoroutinefunction(obj):
        raise UnknownJobTarget(f"job target {target!r} is not an async function")
    return obj  # type: ignore[no-any-return]


def check_ids(ids: tuple[object, ...]) -> tuple[JobId, ...]:
    """Job arguments are plain ids: ``int`` (not ``bool``) or ``str``."""
    for position, value in enumerate(ids, start=1):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(
                f"job argument {position} is a {type(value).__name__}: jobs take plain int "
                "or str ids only (store anything else in the database and pass its id)"
            )
    return ids  # type: ignore[return-value]


async def run(target: str, *ids: JobId) -> None:
    """The trampoline every stored job calls: awaits ``target(current_runtime(), *ids)``.

    Never raises: a failure is logged (without the exception's message) and the scheduler
    goes on with its other jobs."""
    started = time.monotonic()
    try:
        function = resolve(target)
        await function(current_runtime(), *ids)
    except Exception as exc:
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error(
            "job %s%r failed with %s (message withheld: it may hold personal data)\n%s",
            target,
            ids,
            type(exc).__name__,
            frames.rstrip(),
        )
        return
    logger.debug("job %s%r done in %.3f s", target, ids, time.monotonic() - started)
