"""Chooses and runs a framework adapter; imports only the framework asked for."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Protocol

from bot.bootstrap import Services, build_services
from bot.config import Framework, Settings
from bot.core.deps import Deps
from bot.core.dispatch import Dispatcher

log = logging.getLogger(__name__)


class BotApp(Protocol):
    framework: str
    deps: Deps
    dispatcher: Dispatcher

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def make_app(framework: Framework, services: Services) -> BotApp:
    if framework == "aiogram":
        from bot.adapters.aiogram.app import AiogramApp

        return AiogramApp(services)
    if framework == "ptb":
        from bot.adapters.ptb.app import PtbApp

        return PtbApp(services)
    raise ValueError(f"unknown framework {framework!r}: choose aiogram or ptb")


async def run_forever(settings: Settings) -> None:
    """`rapport run`: polls until SIGINT or SIGTERM, then stops cleanly."""
    services = await build_services(settings)
    app = make_app(settings.framework, services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    log.info("rapport is running with %s; press Ctrl+C to stop", settings.framework)
    try:
        await stop.wait()
    finally:
        await app.stop()
        await services.close()
