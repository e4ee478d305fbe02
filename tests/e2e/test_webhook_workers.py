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
workers agree on one scheduler leader; and when the leader is killed with SIGKILL another
worker holds the lease within the lease time.

At the end each customer sends three messages at once: they reach different workers, and
each chat's answers still come in the order of its messages (a worker waits while an older
update of the chat is being handled elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app.settings import Framework
from sandbox import Emulator, SimUser
from sandbox.scenario import Press, Say, find_button
from storage.engine import make_engine
from tests.e2e.conftest import FAST_LIMITS, FAST_PACING, FRAMEWORKS, TOKEN, free_port, running_bot
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.e2e

WORKERS = 3
CUSTOMERS = 6
LEASE_TTL = 4.0
START_TIMEOUT = 120.0
STEP_TIMEOUT = 30.0
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


async def until_sends(emu: Emulator, chat_id: int, count: int, workers: list[Worker]) -> None:
    async def enough() -> bool:
        return sends_to(emu, chat_id) >= count

    await until(enough, STEP_TIMEOUT, f"{count} messages to chat {chat_id}", workers)


async def quiet(emu: Emulator, chat_id: int, seconds: float) -> None:
    """Waits until the chat has seen no request for `seconds`."""
    last = -1
    while True:
        count = sum(1 for r in emu.requests if str(r.params.get("chat_id")) == str(chat_id))
        if count == last:
            return
        last = count
        await asyncio.sleep(seconds)


async def converse(
    emu: Emulator, user: SimUser, expected_sends: list[int] | None, settle: float
) -> list[int]:
    """Plays the dialogue; after each step waits for the sends the reference run made (or,
    for the reference run itself, for the chat to go quiet). Returns sends after each step."""
    after: list[int] = []
    for n, step in enumerate(DIALOGUE):
        match step:
            case Say(words):
                await emu.send_text(user, words)
            case Press(label):
                message_id, data = find_button(emu, user.id, label)
                await emu.press_button(user, message_id, data)
        if expected_sends is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STEP_TIMEOUT
            while sends_to(emu, user.id) < expected_sends[n]:
                assert loop.time() < deadline, f"{user.first_name}: step {n} ({step}) unanswered"
                await asyncio.sleep(0.05)
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
    def __init__(self, n: int, framework: Framework, env: dict[str, str], folder: Path) -> None:
        self.n, self.port = n, free_port()
        self.framework, self.env, self.folder = framework, env, folder
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, proxy_port: int) -> None:
        env = {
            **self.env,
            "RAPPORT_FRAMEWORK": self.framework,
            "RAPPORT_WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}/telegram",
            "RAPPORT_WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
        }
        log = (self.folder / f"worker-{self.n}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from bot.app.cli import app; app()",
            "run",
            "--webhook",
            cwd=self.folder,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()

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


async def until(condition: Any, timeout: float, what: str, workers: list[Worker]) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await condition()
        if value:
            return value
        dead = [w for w in workers if w.process is not None and w.process.returncode is not None]
        if loop.time() > deadline or dead:
            logs = "\n".join(f"--- worker {w.n} ---\n{w.log()[-3000:]}" for w in workers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        await asyncio.sleep(0.2)


async def reference_run(framework: Framework, tmp_path: Path) -> tuple[list[str], list[int]]:
    """What one bot (polling, SQLite) says in the dialogue: the conversation to expect."""
    async with (
        Emulator(token=TOKEN, limits=FAST_LIMITS) as emu,
        running_bot(emu, tmp_path / "reference.db", framework, **FAST_PACING),
    ):
        user = emu.add_user("C9", language_code="en")  # names are blanked like numbers
        sends = await converse(emu, user, None, settle=0.5)
        return conversation(emu, user.id), sends


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_three_webhook_workers_on_one_postgres(
    framework: Framework, postgres: PostgresServer, tmp_path: Path
) -> None:
    expected, expected_sends = await reference_run(framework, tmp_path)
    assert len(expected) >= 5, expected  # the dialogue really went through its steps
    url = await postgres.fresh_database()
    env = {
        **os.environ,
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
    workers = [Worker(n, framework, env, tmp_path) for n in range(1, WORKERS + 1)]
    proxy = Proxy([w.port for w in workers], random.Random(20261202))
    try:
        async with Emulator(token=TOKEN, limits=FAST_LIMITS) as emu, serving(proxy) as port:
            env["RAPPORT_API_BASE"] = emu.base_url
            for worker in workers:
                await worker.start(port)

            async def all_healthy() -> list[dict[str, Any]] | None:
                states = [await w.health() for w in workers]
                healthy = [s for s in states if s is not None]
                return healthy if len(healthy) == len(workers) else None

            await until(all_healthy, START_TIMEOUT, "three healthy workers", workers)
            customers = [emu.add_user(f"C{i}", language_code="en") for i in range(CUSTOMERS)]
            await asyncio.gather(
                *(converse(emu, c, expected_sends, settle=0.5) for c in customers)
            )
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
            for customer in customers:
                await quiet(emu, customer.id, 1.0)
            for customer in customers:
                assert conversation(emu, customer.id) == expected, customer.first_name
                assert sends_to(emu, customer.id) == expected_sends[-1]
            assert proxy.doubled > 0 and proxy.dropped > 0  # the network really misbehaved

            # A burst: three messages at once from each customer, spread over the workers;
            # each chat's answers come in the order of its messages.
            for customer in customers:
                for n in (1, 2, 3):
                    await emu.send_text(customer, f"/m{n}")
            for customer in customers:
                await until_sends(emu, customer.id, expected_sends[-1] + 3, workers)
                await quiet(emu, customer.id, 1.0)
                burst = [m["text"] for m in emu.bot_messages(customer.id)[len(expected) :]]
                commands = [re.search(r"/m\d", t) for t in burst]
                assert [c.group(0) if c else t for c, t in zip(commands, burst, strict=True)] == [
                    "/m1",
                    "/m2",
                    "/m3",
                ]
            assert await unhandled_updates(url) == 0

            # One leader; SIGKILL it and another takes over within the lease time.
            states = await all_healthy()
            assert states is not None
            holders = {s["lease_holder"] for s in states}
            assert len(holders) == 1 and None not in holders, holders
            (holder,) = holders
            pids = {w.process.pid: w for w in workers if w.process is not None}
            leader = next(w for pid, w in pids.items() if f":{pid}:" in holder)
            assert leader.process is not None
            leader.process.send_signal(signal.SIGKILL)
            await leader.process.wait()
            survivors = [w for w in workers if w is not leader]
            loop = asyncio.get_running_loop()
            killed_at = loop.time()

            async def new_leader() -> str | None:
                states = [await w.health() for w in survivors]
                found = {s["lease_holder"] for s in states if s is not None}
                return (
                    next(iter(found))
                    if len(found) == 1 and None not in found and holder not in found
                    else None
                )

            successor = await until(new_leader, LEASE_TTL + 10, "a new leader", survivors)
            assert loop.time() - killed_at <= LEASE_TTL + 3  # TTL, plus a renew period
            assert any(f":{w.process.pid}:" in successor for w in survivors if w.process)
    finally:
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
