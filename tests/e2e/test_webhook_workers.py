"""Three webhook workers on one PostgreSQL (issue #13), as real ``rapport run --webhook``
processes, through aiogram and through python-telegram-bot.

Between the emulator (Telegram) and the workers sits a test proxy that plays the network at
its worst: it sends each update to a random worker, sometimes to two workers at once (a
re-delivery racing the first delivery), and sometimes drops the worker's 200 so that Telegram
delivers the update again (to another worker, as likely as not). After the dialogues it also
replays a batch of old updates out of order. Customers go through a dialogue whose steps
depend on what the previous step stored (an FAQ confirmation, then a complaint: confirm,
order number, done), so each step is likely handled by a different worker than the last.

Checked: every customer's conversation is exactly the one a single bot produces (the same
messages, in the same order, each once); every update is recorded once and handled; the
workers agree on one scheduler leader, and a job that falls due while it lives runs once, on
one worker; and when the leader is killed with SIGKILL another worker holds the lease within
the lease time and runs, once, the job that fell due while no live process held the lease
(issue #13: "a killed leader is replaced within the lease time and the jobs it missed run").
The jobs are real scheduler jobs (:mod:`tests.e2e.job_targets`), scheduled from the test
process through the shared job store, as any process may schedule.

Waits end on progress, not on a wall-clock total (:func:`tests.e2e.conftest.patiently`): a
loaded machine makes the test slower, not red.

At the end each customer sends three messages at once: they reach different workers, and
each chat's answers still come in the order of its messages (a worker waits while an older
update of the chat is being handled elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app.settings import Framework
from sandbox import Emulator, SimUser
from sandbox.scenario import Press, Say, find_button
from scheduler import Lease, Scheduler, SchedulerTimings
from storage.engine import make_engine
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import (
    FAST_LIMITS,
    FAST_PACING,
    FRAMEWORKS,
    TOKEN,
    Traffic,
    free_port,
    patiently,
    process_env,
    running_bot,
)
from tests.e2e.job_targets import CREATE_RUNS, RUNS_TABLE
from tests.e2e.launcher import LaunchedProcess, Launcher
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.e2e

WORKERS = 3
CUSTOMERS = 6
LEASE_TTL = 4.0
NOTED = "tests.e2e.job_targets:noted"
DIALOGUE = (
    Say("/start"),
    Say("invoice"),
    Press("Yes"),
    Say("the kettle arrived broken, I want a refund"),
    Press("Yes"),
    Say("order 10234"),
    Press("Done"),
)


def conversation(emu: Emulator, chat_id: int) -> list[str]:
    """The bot's messages in a chat (after edits), with numbers blanked (ticket ids differ)."""
    out = []
    for message in emu.bot_messages(chat_id):
        buttons = [
            b.get("text", "")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        out.append(re.sub(r"\d+", "#", f"{message.get('text', '')} {buttons}"))
    return out


def sends_to(emu: Emulator, chat_id: int) -> int:
    return sum(
        1
        for r in emu.requests
        if r.method == "sendMessage" and str(r.params.get("chat_id")) == str(chat_id) and r.ok
    )


def chat_requests(emu: Emulator, chat_id: int) -> int:
    return sum(1 for r in emu.requests if str(r.params.get("chat_id")) == str(chat_id))


async def quiet(emu: Emulator, chat_id: int, seconds: float) -> None:
    """Waits until the chat has seen no request for `seconds`."""
    last = -1
    while True:
        count = chat_requests(emu, chat_id)
        if count == last:
            return
        last = count
        await asyncio.sleep(seconds)


async def converse(
    emu: Emulator,
    user: SimUser,
    expected_sends: list[int] | None,
    settle: float,
) -> list[int]:
    """Plays the dialogue; after each step waits for the sends the reference run made (or,
    for the reference run itself, for the bot's first request to the chat), then for the chat
    to go quiet. Returns sends after each step."""
    after: list[int] = []
    progress = Traffic(emu)
    for n, step in enumerate(DIALOGUE):
        before = chat_requests(emu, user.id)
        match step:
            case Say(words):
                await emu.send_text(user, words)
            case Press(label):
                message_id, data = find_button(emu, user.id, label)
                await emu.press_button(user, message_id, data)
        if expected_sends is None:
            count, wanted = partial(chat_requests, emu, user.id), before + 1
        else:
            count, wanted = partial(sends_to, emu, user.id), expected_sends[n]
        await patiently(
            lambda: count() >= wanted,  # noqa: B023 (awaited within the iteration)
            f"{user.first_name}: step {n} ({step}) answered",
            progress=progress,
        )
        await quiet(emu, user.id, settle)
        after.append(sends_to(emu, user.id))
    return after


@dataclass
class Proxy:
    """Stands between Telegram and the workers; see the module docstring."""

    workers: list[int]
    rng: random.Random
    seen: list[dict[str, Any]] = field(default_factory=list)
    doubled: int = 0
    dropped: int = 0

    async def forward(
        self, session: aiohttp.ClientSession, port: int, body: bytes, headers: Any
    ) -> int:
        url = f"http://127.0.0.1:{port}/telegram"
        try:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status
        except aiohttp.ClientError:
            return 502

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower().startswith(("x-", "content-type"))
        }
        self.seen.append(await request.json())
        first, second = self.rng.sample(self.workers, 2)
        async with aiohttp.ClientSession() as session:
            if self.rng.random() < 0.25:  # a re-delivery racing the first delivery
                self.doubled += 1
                statuses = await asyncio.gather(
                    self.forward(session, first, body, headers),
                    self.forward(session, second, body, headers),
                )
                status = min(statuses)
            else:
                status = await self.forward(session, first, body, headers)
        if status == 200 and self.rng.random() < 0.2:  # the 200 is lost: Telegram re-sends
            self.dropped += 1
            return web.Response(status=502)
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def serving(proxy: Proxy) -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_post("/telegram", proxy.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


class Worker:
    """``rapport run --webhook`` in a process of its own (forked by the :class:`Launcher`)."""

    def __init__(
        self, n: int, framework: Framework, env: dict[str, str], folder: Path, launcher: Launcher
    ) -> None:
        self.n, self.port = n, free_port()
        self.framework, self.env, self.folder = framework, env, folder
        self.launcher = launcher
        self.process: LaunchedProcess | None = None

    async def start(self, proxy_port: int) -> None:
        env = {
            **self.env,
            "RAPPORT_FRAMEWORK": self.framework,
            "RAPPORT_WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}/telegram",
            "RAPPORT_WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
        }
        log = self.folder / f"worker-{self.n}.log"
        self.process = await self.launcher.launch(["run", "--webhook"], env, self.folder, log)

    async def health(self) -> dict[str, Any] | None:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{self.port}/healthz") as response,
            ):
                return await response.json() if response.status == 200 else None
        except aiohttp.ClientError:
            return None

    def log(self) -> str:
        return (self.folder / f"worker-{self.n}.log").read_text(errors="replace")


async def until(
    condition: Any, what: str, workers: list[Worker], emu: Emulator, starting: bool = False
) -> Any:
    """Waits for `condition` (a coroutine function) while the workers make requests to the
    emulator (or, `starting`, use CPU); fails with the workers' logs when nothing moved for
    a long while, and as soon as a worker died."""

    async def check() -> Any:
        dead = [w for w in workers if w.process is not None and w.process.returncode is not None]
        assert not dead, f"worker {dead[0].n} died\n{logs(workers)}"
        return await condition()

    return await patiently(
        check,
        what,
        pids=lambda: [w.process.pid if w.process and starting else None for w in workers],
        progress=Traffic(emu),
        poll=0.2,
        details=lambda: f"\n{logs(workers)}",
    )


def logs(workers: list[Worker]) -> str:
    return "\n".join(f"--- worker {w.n} ---\n{w.log()[-3000:]}" for w in workers)


class Bystander(Lease):
    """A lease that is never taken: the test process's scheduler schedules jobs into the
    shared job store and never runs one."""

    async def try_acquire(self, now: datetime) -> bool:
        return False

    async def renew(self, now: datetime) -> bool:
        return False


async def job_runs(url: str) -> list[tuple[str, int]]:
    """(tag, pid) of every run of :func:`tests.e2e.job_targets.noted` so far."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(f"SELECT tag, pid FROM {RUNS_TABLE}"))
            return [(str(tag), int(pid)) for tag, pid in rows]
    finally:
        await engine.dispose()


async def prepare(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(CREATE_RUNS))
    finally:
        await engine.dispose()


async def reference_run(framework: Framework, tmp_path: Path) -> tuple[list[str], list[int]]:
    """What one bot (polling, SQLite) says in the dialogue: the conversation to expect."""
    async with (
        Emulator(token=TOKEN, limits=FAST_LIMITS) as emu,
        running_bot(emu, tmp_path / "reference.db", framework, **FAST_PACING),
    ):
        user = emu.add_user("C9", language_code="en")  # names are blanked like numbers
        sends = await converse(emu, user, None, settle=0.5)
        return conversation(emu, user.id), sends


@BOT_DATABASE  # the reference bot's; the workers are on PostgreSQL in both passes
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_three_webhook_workers_on_one_postgres(
    framework: Framework, postgres: PostgresServer, tmp_path: Path, launcher: Launcher
) -> None:
    url = await postgres.fresh_database()
    await prepare(url)
    env = {
        # the workers load the test's job target (tests.e2e.job_targets) from the repository
        **process_env(),
        "RAPPORT_BOT_TOKEN": TOKEN,
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_DEFAULT_TIMEZONE": "UTC",
        "RAPPORT_CHAT_MESSAGES_PER_SECOND": str(FAST_PACING["chat_messages_per_second"]),
        "RAPPORT_CHAT_BURST": str(FAST_PACING["chat_burst"]),
        "RAPPORT_SCHEDULER_LEASE_TTL_SECONDS": str(LEASE_TTL),
        "RAPPORT_SCHEDULER_LEASE_RENEW_SECONDS": "1",
        "RAPPORT_BUSINESS_NAME": "Teapot & Co.",
        "PTB_TIMEDELTA": "1",
    }
    workers = [Worker(n, framework, env, tmp_path, launcher) for n in range(1, WORKERS + 1)]
    proxy = Proxy([w.port for w in workers], random.Random(20261202))
    timings = SchedulerTimings(lease_ttl_seconds=LEASE_TTL, lease_renew_seconds=1)
    engine = make_engine(url)
    jobs = Scheduler(timings, engine, lease=Bystander(engine, ttl_seconds=LEASE_TTL))
    try:
        async with Emulator(token=TOKEN, limits=FAST_LIMITS) as emu, serving(proxy) as port:
            env["RAPPORT_API_BASE"] = emu.base_url
            for worker in workers:  # they start up while the reference run goes on
                await worker.start(port)
            expected, expected_sends = await reference_run(framework, tmp_path)
            assert len(expected) >= 5, expected  # the dialogue really went through its steps

            async def all_healthy() -> list[dict[str, Any]] | None:
                states = [await w.health() for w in workers]
                healthy = [s for s in states if s is not None]
                return healthy if len(healthy) == len(workers) else None

            await until(all_healthy, "three healthy workers", workers, emu, starting=True)
            await jobs.start(None)
            await jobs.schedule_at("while-led", NOTED, datetime.now(UTC), "while-led")
            customers = [emu.add_user(f"C{i}", language_code="en") for i in range(CUSTOMERS)]

            await asyncio.gather(*(converse(emu, c, expected_sends, 0.5) for c in customers))
            # Late re-deliveries, out of order, of updates already handled.
            late = proxy.rng.sample(proxy.seen, min(10, len(proxy.seen)))
            async with aiohttp.ClientSession() as session:
                for body in late:
                    worker = proxy.rng.choice(workers)
                    secret = emu.webhook.secret_token or ""
                    async with session.post(
                        f"http://127.0.0.1:{worker.port}/telegram",
                        json=body,
                        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                    ) as response:
                        assert response.status == 200
            await asyncio.gather(*(quiet(emu, c.id, 1.0) for c in customers))
            for customer in customers:
                assert conversation(emu, customer.id) == expected, customer.first_name
                assert sends_to(emu, customer.id) == expected_sends[-1]
            assert proxy.doubled > 0 and proxy.dropped > 0  # the network really misbehaved

            # A burst: three messages at once from each customer, spread over the workers;
            # each chat's answers come in the order of its messages.
            for customer in customers:
                for n in (1, 2, 3):
                    await emu.send_text(customer, f"/m{n}")

            async def burst_answered(customer: SimUser) -> list[str]:
                async def enough() -> bool:
                    return sends_to(emu, customer.id) >= expected_sends[-1] + 3

                await until(enough, f"the burst answered in chat {customer.id}", workers, emu)
                await quiet(emu, customer.id, 1.0)
                burst = [m["text"] for m in emu.bot_messages(customer.id)[len(expected) :]]
                commands = [re.search(r"/m\d", t) for t in burst]
                return [c.group(0) if c else t for c, t in zip(commands, burst, strict=True)]

            bursts = await asyncio.gather(*(burst_answered(c) for c in customers))
            assert bursts == [["/m1", "/m2", "/m3"]] * CUSTOMERS
            assert await unhandled_updates(url) == 0

            # One leader; it ran the job that fell due while it lived, once.
            states = await all_healthy()
            assert states is not None
            holders = {s["lease_holder"] for s in states}
            assert len(holders) == 1 and None not in holders, holders
            (holder,) = holders
            pids = {w.process.pid: w for w in workers if w.process is not None}
            leader = next(w for pid, w in pids.items() if f":{pid}:" in holder)
            assert leader.process is not None

            async def ran_while_led() -> bool:
                return any(tag == "while-led" for tag, _ in await job_runs(url))

            await until(ran_while_led, "the job due while the leader lived", workers, emu)

            # SIGKILL the leader; a job falls due while its lease, held by no live process,
            # runs out; another worker takes the lease within the lease time and runs it.
            leader.process.send_signal(signal.SIGKILL)
            await leader.process.wait()
            survivors = [w for w in workers if w is not leader]
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            await jobs.schedule_at("missed", NOTED, datetime.now(UTC), "missed")
            in_gap = [await w.health() for w in survivors]  # the job is due: who leads?
            assert {s["lease_holder"] for s in in_gap if s} <= {holder, None}, in_gap

            async def new_leader() -> str | None:
                states = [await w.health() for w in survivors]
                found = {s["lease_holder"] for s in states if s is not None}
                return (
                    next(iter(found))
                    if len(found) == 1 and None not in found and holder not in found
                    else None
                )

            successor = await until(new_leader, "a new leader", survivors, emu)
            assert loop.time() - killed_at <= LEASE_TTL + 3  # TTL, plus a renew period
            (heir,) = [w for w in survivors if w.process and f":{w.process.pid}:" in successor]

            async def ran_missed() -> bool:
                return any(tag == "missed" for tag, _ in await job_runs(url))

            await until(ran_missed, "the missed job to run", survivors, emu)
            await asyncio.sleep(1.0)  # a renew period: a second run, if any, would show now
            runs = sorted(await job_runs(url))
            assert heir.process is not None
            assert runs == [("missed", heir.process.pid), ("while-led", leader.process.pid)]
    finally:
        await jobs.stop()
        await engine.dispose()
        for worker in workers:
            if worker.process is not None and worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.process.wait(), 30)
                if worker.process.returncode is None:
                    worker.process.kill()
        await postgres.drop(url)


async def unhandled_updates(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT count(*) FROM inbound_update")) or 0)
    finally:
        await engine.dispose()
