"""Time for the emulator: the real clock, or a virtual one a test shares with the bot.

Telegram's flood limits are about time: one message a second per chat, twenty a minute per
group. A test that proves the bot keeps them must let time pass, and waiting it out for real
makes the test suite sleep. A :class:`VirtualClock` handed to both the emulator (whose flood
control reads it) and the bot (whose pacing sleeps on it) lets the seconds pass at once, while
the emulator still judges every request by the same clock the bot paced it by: a bot that
waits too little is still refused with 429.

The sandbox imports nothing from the bot, so it states its own :class:`Clock`; a
:class:`VirtualClock` also has what the bot's clock port asks for (``now()`` and
``sleep()``), so one object serves both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

_SPINS = 20
"""Event-loop rounds the driver yields before each look at whether the program is waiting."""
_BUSY_SHARE = 0.25
"""A look finds the program busy when it spent more than this share of the look's real time
on the CPU (in any thread: the bot's database calls run in threads the loop cannot see)."""
_MAX_BUSY_LOOKS = 500
"""Time moves on after this many busy looks in a row anyway, so that a thread spinning
forever cannot stop it."""


def _threads_at_work() -> bool:
    """Whether another thread of this process is running, waiting for a CPU, or in disk I/O
    (Linux only; elsewhere False, and the CPU share measured alone decides).

    The CPU share misses a thread that the machine is too busy to run: on a loaded machine the
    bot's database thread may get no CPU for a while, and time must not leap meanwhile.
    """
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False
    me = str(threading.get_native_id())
    for task in tasks:
        if task == me:
            continue
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as stat:
                line = stat.read()
        except OSError:  # the thread has just ended
            continue
        state = line[line.rfind(b")") + 2 : line.rfind(b")") + 3]
        if state in (b"R", b"D"):
            return True
    return False


class Clock(Protocol):
    """What the emulator needs to know about time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC (message dates)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (flood control, request stamps)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits `seconds` on this clock (injected delays, webhook retries)."""
        ...


class RealClock:
    """The machine's clock: what the emulator uses unless a test gives it another."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Time that leaps to the next wake-up whenever the program is only waiting, like trio's
    ``MockClock`` with ``autojump_threshold``.

    Tasks that :meth:`sleep` register their wake-up time. While the clock runs (``async with
    clock:``), a driver task waits until the program is only waiting — no task ready to run,
    no thread at work or waiting for a CPU, and no CPU spent for `idle` real seconds, so real
    I/O on 127.0.0.1 (the bot's HTTP requests to the emulator) and work in threads (its
    database) have finished — then moves time forward
    to the *earliest* pending wake-up, never further, wakes whoever is due then, and repeats.
    Because time jumps only as far as the next sleeper, a request is stamped no earlier than
    the bot decided to send it: a pacer that waits too little still makes the emulator see two
    requests too close together.

    By default time moves only by those jumps (and :meth:`advance`): the bot's own work takes
    no time at all, so what the emulator sees depends on the pacing alone, never on how busy
    the machine is — a bot that paces right is never refused, even on a loaded machine, and two
    runs see the same times. It starts at the real time (or `start`), and moves on only as far
    as the waits take it. With ``follow_real_time`` time also flows at the real pace in
    between, as for a real bot whose work takes time (the desk-burst benchmark's figures then
    include the bot's own slowness).
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        follow_real_time: bool = False,
        idle: float = 0.001,
    ) -> None:
        if start is not None and (start.tzinfo is None or start.utcoffset() is None):
            raise ValueError(f"start must be timezone-aware, got naive {start!r}")
        self._start = start.astimezone(UTC) if start is not None else datetime.now(UTC)
        self._follow = follow_real_time
        self.idle = idle
        """Real seconds the driver lets pass (for I/O) before it moves time forward."""
        self._origin = time.monotonic()
        self._jumped = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self.sleeps = 0
        """How many times a task went to sleep on this clock."""
        self.jumps = 0
        """How many times the clock moved time forward to wake a sleeper."""

    # ------------------------------------------------------------------ reading the time
    def elapsed(self) -> float:
        """Seconds since the clock started, virtual jumps included."""
        real = time.monotonic() - self._origin if self._follow else 0.0
        return real + self._jumped

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed())

    def monotonic(self) -> float:
        """Like :func:`time.monotonic` would read had time passed as it did on this clock."""
        return self._origin + self.elapsed()

    # ------------------------------------------------------------------ waiting
    async def sleep(self, seconds: float) -> None:
        """Waits until this clock reads `seconds` later; needs the clock to be running."""
        self.sleeps += 1
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self._driver is None or self._driver.done():
            raise RuntimeError("VirtualClock.sleep() needs a running clock: `async with clock:`")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.elapsed() + seconds, next(self._order), future))
        self._wake.set()
        await future  # a cancelled sleeper's future is cancelled too; the driver skips it

    def advance(self, seconds: float) -> None:
        """Moves time forward by `seconds` at once, as if it had passed (for tests that step
        time by hand), and wakes every sleeper due by then."""
        if seconds < 0:
            raise ValueError("time never goes back")
        self._jumped += seconds
        self._wake_due()

    def _wake_due(self) -> int:
        """Wakes every sleeper due by now; returns how many."""
        now, woken = self.elapsed(), 0
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
                woken += 1
        return woken

    def _earliest(self) -> float | None:
        """The earliest wake-up of a sleeper still waiting (cancelled ones are dropped)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def _waiting(self) -> None:
        """Returns once the program has been only waiting for `idle` real seconds: no task
        ready to run, next to no CPU spent meanwhile (threads included), and no other thread
        at work or waiting for a CPU."""
        # asyncio's queue of callbacks ready to run (private, so only if the loop has one).
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        for _ in range(_MAX_BUSY_LOOKS):
            for _ in range(_SPINS):
                await asyncio.sleep(0)
            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.sleep(self.idle)
            spent, passed = time.process_time() - cpu, time.perf_counter() - started
            if not ready and spent <= _BUSY_SHARE * passed and not _threads_at_work():
                return

    async def _drive(self) -> None:
        while True:
            await self._waiting()
            if self._wake_due():  # real time reached someone: no jump needed this round
                continue
            earliest = self._earliest()
            if earliest is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            gap = earliest - self.elapsed()
            if gap > 0:
                self._jumped += gap
                self.jumps += 1
            self._wake_due()

    # ------------------------------------------------------------------ running
    async def start(self) -> None:
        """Starts the driver that moves time forward (see the class docstring)."""
        if self._driver is not None and not self._driver.done():
            raise RuntimeError("the clock is already running")
        self._wake = asyncio.Event()
        self._driver = asyncio.get_running_loop().create_task(self._drive(), name="vclock")

    async def stop(self) -> None:
        """Stops the driver; sleepers still waiting stay asleep until it starts again."""
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
