"""End-to-end fixtures: the real bot on a real framework, polling the local emulator.

Both frameworks are imported once per test session (aiogram takes seconds to import). Each
test gets a fresh emulator and a fresh database (:mod:`tests.bot_database`), so tests cannot
leak into each other.

The ``emulator`` fixture keeps Telegram's real limits and runs on a :class:`VirtualClock`
that :func:`running_bot` hands to the bot as well: the bot's pacing sleeps on the very clock
the emulator's flood control reads, so a second's wait passes at once, and a bot that waited
too little is still refused with 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.app.bootstrap import Services, build_services
from bot.app.demo import demo_settings
from bot.app.runner import RunningBot, start_bot
from bot.app.settings import Framework
from bot.core.consent import ConsentChange, ConsentSource
from bot.core.ports import Clock, Messenger
from bot.core.roles import Role
from bot.core.services.advisors import assign
from bot.core.services.staff import enroll
from sandbox import Emulator, FloodLimits, SimUser, VirtualClock
from sandbox.scenario import Press, Say, StaffPress, Step
from storage.tables import CustomerTierRow
from tests.bot_database import bot_database_url
from tests.e2e.launcher import Launcher

TOKEN = "123456:TEST"
FRAMEWORKS: tuple[Framework, ...] = ("aiogram", "ptb")
ROOT = Path(__file__).resolve().parents[2]
"""The checkout under test: a bot process started by a test imports its code from here."""


def process_env(**variables: str) -> dict[str, str]:
    """The environment for a ``rapport`` process a test starts: this one's, with `variables`
    and the checkout first on ``PYTHONPATH`` (the processes run in a temporary folder, where a
    relative ``PYTHONPATH=.`` would find another checkout's installed copy instead)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **variables}


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


class ServesBotApi(Protocol):
    """An emulator the bot can be pointed at: an :class:`Emulator`, or one in another process
    (:class:`sandbox.remote.RemoteEmulator`)."""

    @property
    def base_url(self) -> str: ...

    @property
    def clock(self) -> Clock: ...


@contextlib.asynccontextmanager
async def running_bot(
    emu: ServesBotApi,
    database: Path,
    framework: Framework,
    clock: Clock | None = None,
    **extra: Any,
) -> AsyncIterator[tuple[RunningBot, Services]]:
    """Starts the bot on `framework` against `emu` (in this process or another) with the
    database the test names `database` (the SQLite file, or in the PostgreSQL pass a
    PostgreSQL database: :func:`tests.bot_database.bot_database_url`); stops it cleanly
    afterwards. The bot goes by the emulator's clock unless the test gives it another."""
    settings = demo_settings(
        framework,
        emu.base_url,
        database,
        token=TOKEN,
        default_timezone="UTC",
        database_url=await bot_database_url(database),
        **extra,
    )
    services = await build_services(settings, clock=clock if clock is not None else emu.clock)
    bot = await start_bot(services, framework)
    try:
        yield bot, services
    finally:
        await bot.stop()
        await services.close()


@contextlib.asynccontextmanager
async def adapter_client(
    framework: str, base: str, *, timeout: float, connections: int, paid: bool = False
) -> AsyncIterator[tuple[Any, Messenger]]:
    """(the framework's own bot, the adapter's messenger) aimed at `base`, over the HTTP
    client the adapter uses (:mod:`bot.adapters.aiogram.session`,
    :mod:`bot.adapters.ptb.request`) with `timeout` seconds per request and at most
    `connections` connections; closed on leaving."""
    if framework == "aiogram":
        from aiogram import Bot

        from bot.adapters.aiogram.messenger import AiogramMessenger
        from bot.adapters.aiogram.session import make_session

        bot = Bot(TOKEN, session=make_session(base, timeout, connections))
        try:
            yield bot, AiogramMessenger(bot, paid_broadcast=paid)
        finally:
            await bot.session.close()
    else:
        import telegram

        from bot.adapters.ptb.messenger import PtbMessenger
        from bot.adapters.ptb.request import AiohttpRequest

        request = AiohttpRequest(connections=connections, read_timeout=timeout)
        ptb = telegram.Bot(TOKEN, base_url=f"{base}/bot", request=request)
        await request.initialize()
        try:
            yield ptb, PtbMessenger(ptb, paid_broadcast=paid)
        finally:
            await request.shutdown()


@pytest.fixture(scope="session")
async def launcher() -> AsyncIterator[Launcher]:
    """Starts real ``rapport`` processes for the tests that kill them (see
    :mod:`tests.e2e.launcher`); one per test session, started on first use."""
    started = await Launcher.start(process_env())
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def virtual_clock() -> AsyncIterator[VirtualClock]:
    """Virtual time, running (see :class:`sandbox.clock.VirtualClock`)."""
    async with VirtualClock() as clock:
        yield clock


@pytest.fixture
async def emulator(virtual_clock: VirtualClock) -> AsyncIterator[Emulator]:
    """Telegram's real flood limits, on virtual time shared with the bot."""
    async with Emulator(token=TOKEN, clock=virtual_clock) as emu:
        yield emu


# Behaviour tests that need not prove pacing use looser flood limits on both sides (the
# emulator's and the bot's), so a step is not a second's wait; the journey and desk-load
# tests keep Telegram's real limits.
FAST_LIMITS = FloodLimits(per_chat_rate=50.0, per_chat_burst=50)
FAST_PACING: dict[str, Any] = {"chat_messages_per_second": 50.0, "chat_burst": 50}

A_COMPLAINT_RESOLVED: tuple[Step, ...] = (
    Say("the kettle arrived broken, I want a refund"),
    Press("Yes"),
    Press("Skip"),
    Press("Done"),
    StaffPress("Resolved"),
)
"""A customer's complaint, confirmed without photos and resolved from the staff group: the
steps before a rating question."""


@pytest.fixture
async def fast_emulator() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, limits=FAST_LIMITS) as emu:
        yield emu


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at this moment (for a receiver the test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def enroll_staff(services: Services, user: SimUser, role: Role = Role.SUPERVISOR) -> None:
    """Puts a simulated user on the staff roster, as `rapport staff add` does."""
    async with services.uow() as uow:
        await enroll(uow, user.id, user.first_name, role, services.clock.now())
        await uow.commit()


async def standing(
    services: Services, chat_id: int, tier: str, stage: str, advisor: int | None = None
) -> int:
    """The customer of `chat_id` agreed to offers (as the shop's file said), stands in `tier` and
    lifecycle `stage`, and has `advisor` as their dedicated advisor; returns their id."""
    async with services.uow() as uow:
        customer = await uow.customers.get_by_chat_id(chat_id)
        assert customer is not None and customer.id is not None
        now = services.clock.now()
        await uow.records.record_consent(
            ConsentChange(customer.id, True, ConsentSource.IMPORT, now)
        )
        uow.session.add(
            CustomerTierRow(
                customer_id=customer.id,
                as_of=now.date(),
                tier=tier,
                lifecycle=stage,
                frequency=3,
                monetary_cents=30000,
            )
        )
        if advisor is not None:
            await assign(uow, customer.id, advisor)
        await uow.commit()
        return customer.id


IDLE_SECONDS = 60.0
"""How long a real-process test waits while nothing moves (no output, no request to the
emulator, no CPU used by a starting process) before it fails. Generous: a process importing
aiogram under load prints nothing for tens of seconds, but it does use CPU."""
LIMIT_SECONDS = 900.0
"""The most any one wait may take even while things move (a bot spinning in a loop)."""


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) the process `pid` has used so far, read from ``/proc``; 0
    where unknown (no such process, or no ``/proc``)."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


async def patiently(
    condition: Callable[[], bool | Awaitable[object]],
    what: str,
    *,
    pids: Callable[[], Iterable[int | None]] = tuple,
    progress: Callable[[], object] = lambda: None,
    idle: float = IDLE_SECONDS,
    poll: float = 0.05,
    details: Callable[[], str] = str,
) -> object:
    """Waits until `condition()` (a function, or a coroutine function) returns something
    true, and returns it. Fails (AssertionError naming `what`, then `details()`) only when
    nothing has moved for `idle` seconds: neither the value of `progress()` (say,
    :class:`Traffic`) nor the CPU time of the processes `pids()` changed — so a loaded
    machine slows a test down instead of failing it — or after :data:`LIMIT_SECONDS` in all.
    Give `pids` only while processes start up (their CPU is then the only sign of life): a
    running bot uses a little CPU even when idle, and would keep the wait going."""
    loop = asyncio.get_running_loop()
    started = moved = loop.time()
    seen: object = None
    while True:
        outcome = condition()
        value: object = await outcome if inspect.isawaitable(outcome) else outcome
        if value:
            return value
        now = loop.time()
        state = (progress(), round(sum(cpu_seconds(p) for p in pids()), 2))
        if state != seen:
            seen, moved = state, now
        if now - moved > idle or now - started > LIMIT_SECONDS:
            why = f"nothing moved for {idle:.0f} s" if now - moved > idle else "too long"
            raise AssertionError(
                f"gave up waiting for {what} after {now - started:.0f} s ({why}){details()}"
            )
        await asyncio.sleep(poll)


class Traffic:
    """The bot's requests to the emulator other than ``getUpdates`` (which a polling bot
    makes all the time), counted as the log grows: the progress of a bot that is working."""

    def __init__(self, emu: Any) -> None:
        self.emu, self.read, self.count = emu, 0, 0

    def __call__(self) -> int:
        requests = self.emu.requests
        self.count += sum(1 for r in requests[self.read :] if r.method != "getUpdates")
        self.read = len(requests)
        return self.count
