"""Benchmark: CPU per send through an adapter's messenger and HTTP client (issue #9, paid mode).

    .venv/bin/python -m benchmarks.http_cost --framework aiogram
    .venv/bin/python -m benchmarks.http_cost --framework ptb --client stock

The emulator runs in a child process (:mod:`sandbox.remote`) with its flood limits off, so
only the bot's side is measured: `--messages` sends to as many chats through the adapter's
:class:`~bot.core.ports.Messenger`, at most `--concurrency` at once (the outbox's rows in
flight in paid mode), after 50 to warm up (connections, models). Printed: this process's CPU
time per send (``time.process_time``: what a loaded machine inflates least) and the sends
per second of wall time. `--client rapport` (the default) is the adapter's own client
(:mod:`bot.adapters.aiogram.session`, :mod:`bot.adapters.ptb.request`) with `--connections`
connections; `--client stock` is what the adapters used before: aiogram's
``AiohttpSession`` (multipart form data) and python-telegram-bot's ``HTTPXRequest`` with 16
connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from bot.core.messages import Outgoing
from bot.core.ports import Messenger
from sandbox import FloodLimits
from sandbox.remote import RemoteEmulator
from tests.e2e.conftest import FRAMEWORKS, TOKEN, adapter_client

WARM_UP = 50
TIMEOUT = 10.0
STOCK_PTB_CONNECTIONS = 16
"""python-telegram-bot's pool as the adapter configured it before its own client."""


@contextlib.asynccontextmanager
async def stock_messenger(framework: str, base: str) -> AsyncIterator[Messenger]:
    """The adapter's messenger over the framework's own HTTP client."""
    if framework == "aiogram":
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        from bot.adapters.aiogram.messenger import AiogramMessenger

        session = AiohttpSession(api=TelegramAPIServer.from_base(base), timeout=TIMEOUT)
        bot = Bot(TOKEN, session=session)
        try:
            yield AiogramMessenger(bot, paid_broadcast=True)
        finally:
            await session.close()
    else:
        import telegram
        from telegram.request import HTTPXRequest

        from bot.adapters.ptb.messenger import PtbMessenger

        request = HTTPXRequest(
            httpx_kwargs={"trust_env": False},
            connection_pool_size=STOCK_PTB_CONNECTIONS,
            read_timeout=TIMEOUT,
        )
        await request.initialize()
        try:
            yield PtbMessenger(
                telegram.Bot(TOKEN, base_url=f"{base}/bot", request=request),
                paid_broadcast=True,
            )
        finally:
            await request.shutdown()


@contextlib.asynccontextmanager
async def messenger(
    framework: str, client: str, base: str, connections: int
) -> AsyncIterator[Messenger]:
    if client == "stock":
        async with stock_messenger(framework, base) as stock:
            yield stock
    else:
        async with adapter_client(
            framework, base, timeout=TIMEOUT, connections=connections, paid=True
        ) as (_bot, ours):
            yield ours


async def run(
    framework: str, client: str, messages: int, concurrency: int, connections: int
) -> dict[str, Any]:
    """Runs the benchmark; returns its figures (see the module docstring)."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    limits = FloodLimits(enabled=False)
    async with RemoteEmulator(token=TOKEN, limits=limits, validate=False) as emu:
        people = await emu.add_users([f"U{i:05d}" for i in range(WARM_UP + messages)])
        async with messenger(framework, client, emu.base_url, connections) as bot:
            turn = asyncio.Semaphore(concurrency)

            async def send(i: int) -> None:
                async with turn:
                    await bot.send(Outgoing(people[i].id, f"[b-{i:05d}] news"))

            await asyncio.gather(*(send(i) for i in range(WARM_UP)))
            cpu, wall = time.process_time(), time.monotonic()
            await asyncio.gather(*(send(i) for i in range(WARM_UP, WARM_UP + messages)))
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return {
        "framework": framework,
        "client": client,
        "messages": messages,
        "concurrency": concurrency,
        "cpu_ms_per_send": round(1000 * cpu / messages, 3),
        "sends_per_s": round(messages / wall, 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--framework", choices=FRAMEWORKS, default="aiogram")
    parser.add_argument("--client", choices=("rapport", "stock"), default="rapport")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200, help="sends at once")
    parser.add_argument("--connections", type=int, default=200, help="rapport's pool")
    args = parser.parse_args(argv)
    figures = asyncio.run(
        run(args.framework, args.client, args.messages, args.concurrency, args.connections)
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
