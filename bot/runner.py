"""Chooses and runs a framework adapter; imports only the framework asked for."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from bot.bootstrap import Services, build_services
from bot.config import Framework, Settings
from bot.core.deps import Deps
from bot.core.dispatch import Dispatcher
from bot.jobs import revisit, sla

if TYPE_CHECKING:
    from scheduler import Scheduler

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


@dataclass(slots=True)
class RunningBot:
    """A started bot: the framework app and the scheduler that runs its timed jobs."""

    app: BotApp
    scheduler: Scheduler

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.app.stop()


async def start_bot(services: Services, framework: Framework) -> RunningBot:
    """Starts polling and the scheduler, and (re)registers the periodic jobs. Every process
    may call this; only the scheduler's lease holder runs the jobs."""
    from scheduler import Scheduler

    settings = services.settings
    app = make_app(framework, services)
    scheduler = Scheduler(settings, services.engine, app.dispatcher)
    # The scheduler needs the dispatcher (its jobs' runtime) and the handlers need the
    # scheduler: Deps is frozen, so the app's bundle is rebuilt with it once, before the app
    # handles anything (jobs read `dispatcher.deps` when they run, so they see it too).
    app.deps = app.dispatcher.deps = replace(app.dispatcher.deps, scheduler=scheduler)
    await app.start()
    await scheduler.start()
    await scheduler.schedule_every(sla.JOB_ID, sla.TARGET, settings.sla_sweep_seconds)
    await scheduler.schedule_every(
        revisit.SWEEP_JOB_ID, revisit.SWEEP_TARGET, settings.revisit_sweep_seconds
    )
    return RunningBot(app, scheduler)


async def run_forever(settings: Settings) -> None:
    """`rapport run`: polls until SIGINT or SIGTERM, then stops cleanly."""
    services = await build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bot = await start_bot(services, settings.framework)
    log.info("rapport is running with %s; press Ctrl+C to stop", settings.framework)
    try:
        await stop.wait()
    finally:
        await bot.stop()
        await services.close()
