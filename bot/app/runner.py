"""Chooses and runs a framework adapter; imports only the framework asked for."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp.web import RouteDef

from bot.adapters.connection import (
    Connection,
    PollingPolicy,
    TelegramUnreachable,
    WebhookConfig,
)
from bot.adapters.webhook import derived_secret
from bot.app.bootstrap import (
    Services,
    build_services,
    make_deps,
    outbox_policy,
    publish_menus,
)
from bot.app.events_server import EventsServer, events_secret, start_events_server
from bot.app.health import HealthProbe, HealthServer, start_health_server
from bot.app.jobs import campaigns, engagement, revisit, sla
from bot.app.policies import telegram_connections, tier_policy
from bot.app.settings import Framework, Settings
from bot.core.deps import Deps
from bot.core.dispatch import Dispatcher
from bot.core.outbox import OutboxSender, recover, release_own, worker_name
from bot.core.ports import Messenger
from bot.core.retry import retrying
from bot.handlers import ROUTING
from scheduler import Scheduler, SchedulerTimings

log = logging.getLogger(__name__)


class BotApp(Protocol):
    """What the composition root needs of a framework adapter's application."""

    framework: str

    @property
    def messenger(self) -> Messenger: ...

    async def start(self, dispatcher: Dispatcher) -> None: ...

    async def stop(self) -> None: ...


def connection(settings: Settings, routes: Sequence[RouteDef] = ()) -> Connection:
    return Connection(
        token=settings.token_value(),
        api_base=settings.api_base,
        polling_timeout=settings.polling_timeout,
        polling=PollingPolicy(
            retry_initial_seconds=settings.accept_retry_initial_seconds,
            retry_max_seconds=settings.accept_retry_max_seconds,
            stop_grace_seconds=settings.stop_grace_seconds,
            max_in_flight=settings.updates_in_flight_max,
        ),
        paid_broadcast=settings.paid_broadcast,
        request_timeout_seconds=settings.telegram_request_timeout_seconds,
        webhook=webhook_config(settings, routes),
        connections=telegram_connections(settings),
    )


def webhook_config(settings: Settings, routes: Sequence[RouteDef] = ()) -> WebhookConfig | None:
    """The webhook receiver's configuration (`routes`: more endpoints on its port); None
    (long polling) without ``webhook_url``."""
    if settings.webhook_url is None:
        return None
    host, port = Settings.host_port(settings.webhook_listen)
    return WebhookConfig(
        public_url=settings.webhook_url,
        host=host,
        port=port,
        secret_token=webhook_secret(settings),
        accept_timeout_seconds=settings.webhook_accept_timeout_seconds,
        max_connections=settings.webhook_max_connections,
        routes=tuple(routes),
    )


def webhook_secret(settings: Settings) -> str:
    """The configured webhook secret, or the one derived from the bot token."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    return derived_secret(settings.token_value())


def scheduler_timings(settings: Settings) -> SchedulerTimings:
    return SchedulerTimings(
        misfire_grace_seconds=settings.scheduler_misfire_grace_seconds,
        lease_ttl_seconds=settings.scheduler_lease_ttl_seconds,
        lease_renew_seconds=settings.scheduler_lease_renew_seconds,
        stop_timeout_seconds=settings.scheduler_stop_timeout_seconds,
    )


def make_app(framework: Framework, settings: Settings, routes: Sequence[RouteDef] = ()) -> BotApp:
    """The adapter's application for `framework`; imports only that framework. `routes` are
    served on the webhook port (webhook mode only)."""
    if framework == "aiogram":
        from bot.adapters.aiogram.app import AiogramApp

        return AiogramApp(connection(settings, routes))
    if framework == "ptb":
        from bot.adapters.ptb.app import PtbApp

        return PtbApp(connection(settings, routes))
    raise ValueError(f"unknown framework {framework!r}: choose aiogram or ptb")


@dataclass(frozen=True, slots=True)
class RunningBot:
    """A started bot: the framework app, the dispatcher it feeds, the scheduler that runs
    its timed jobs, and the outbox sender (every process runs one) with its task."""

    app: BotApp
    dispatcher: Dispatcher
    scheduler: Scheduler
    outbox: OutboxSender
    outbox_task: asyncio.Task[None]
    stop_grace: float
    events: EventsServer | None = None
    """The order events endpoint, when ``RAPPORT_EVENTS_PORT`` is set."""
    health: HealthServer | None = None
    """``/healthz`` and ``/metrics`` on ``RAPPORT_HEALTH_LISTEN`` (polling mode; in webhook
    mode they are served on the webhook port)."""

    @property
    def deps(self) -> Deps:
        return self.dispatcher.deps

    async def stop(self) -> None:
        """Begins no more updates at once (those not begun stay in the inbox for the next
        start), stops the scheduler, then the adapter: it stops fetching and awaits the
        updates being handled. Outbox rows this process claimed and could not send in time
        go back to pending for the next sender. The order events endpoint stops first: an
        event it has begun is applied, later ones are refused by the closed port."""
        if self.events is not None:
            await self.events.stop()
        if self.health is not None:
            await self.health.stop()
        self.dispatcher.close()
        await self.scheduler.stop()
        await self._stop_outbox()
        await self.app.stop()
        with contextlib.suppress(Exception):  # else the claim timeout frees them
            await release_own(self.deps, self.dispatcher.worker)

    async def _stop_outbox(self) -> None:
        """Lets the sender finish the rows it is sending (a row cut off mid-send would wait
        for ``outbox_claim_timeout_seconds`` and might then go twice), for at most
        ``stop_grace_seconds``; then cancels it."""
        self.outbox.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self.outbox_task), self.stop_grace)
        except TimeoutError:
            self.outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.outbox_task


async def start_bot(services: Services, framework: Framework) -> RunningBot:
    """Starts polling, the scheduler and the outbox sender, and (re)registers the periodic
    jobs. Every process may call this; only the scheduler's lease holder runs the jobs, while
    every process drains the outbox (a conditional claim gives each row to one of them).
    Polling begins by handling the updates a previous run accepted and never handled
    (:mod:`bot.adapters.polling`).

    Everything is built once, in dependency order, and never replaced: the adapter's
    messenger, the scheduler, the core's Deps (which hold both), the dispatcher. With
    ``RAPPORT_EVENTS_PORT`` set, the order events endpoint starts last
    (:mod:`bot.app.events_server`); set without ``RAPPORT_EVENTS_SECRET``, nothing starts and
    :class:`~bot.app.events_server.EventsConfigError` says why."""
    settings = services.settings
    events_secret(settings)  # a port without a secret: refused before anything starts
    probe = HealthProbe(services)
    webhook_mode = settings.webhook_url is not None
    app = make_app(framework, settings, probe.routes() if webhook_mode else ())
    scheduler = Scheduler(scheduler_timings(settings), services.engine)
    deps = make_deps(services, app.messenger, scheduler)
    worker = worker_name()
    dispatcher = Dispatcher(deps, ROUTING, outbox_policy(settings), worker)
    await recover(deps, worker)  # before this process claims a row of its own
    try:
        await app.start(dispatcher)
    except BaseException:
        with contextlib.suppress(Exception):  # close what the attempt opened (sessions)
            await app.stop()
        raise
    await publish_menus(deps)
    # Polling has begun: a database another process holds locked (a VACUUM, a migration) must
    # delay registering the jobs, not end the bot.
    await scheduler.start(dispatcher)
    for job_id, target, seconds in (
        (sla.JOB_ID, sla.TARGET, settings.sla_sweep_seconds),
        (revisit.SWEEP_JOB_ID, revisit.SWEEP_TARGET, settings.revisit_sweep_seconds),
        (engagement.JOB_ID, engagement.TARGET, settings.engagement_run_seconds),
        (campaigns.JOB_ID, campaigns.TARGET, settings.campaign_tick_seconds),
    ):
        await retrying(
            partial(scheduler.schedule_every, job_id, target, seconds),
            deps.policies.handling,
            asyncio.sleep,
            f"scheduling {job_id}",
        )
    outbox = OutboxSender(deps, dispatcher.delivery, outbox_policy(settings), worker)
    task = asyncio.create_task(outbox.run(after=dispatcher.resumed), name="rapport-outbox")
    bot = RunningBot(app, dispatcher, scheduler, outbox, task, settings.stop_grace_seconds)
    probe.attach(bot)
    try:
        events = await start_events_server(
            settings, services.engine, services.clock, tier_policy(settings)
        )
        health = None
        if settings.health_listen is not None and not webhook_mode:
            health = await start_health_server(probe, settings.health_listen)
    except BaseException:
        await bot.stop()
        raise
    return dataclasses.replace(bot, events=events, health=health)


def freeze_start_up_heap() -> None:
    """Once the bot runs: collects the start-up garbage, then moves every object alive now
    (modules, both frameworks' pydantic models, templates, word lists: hundreds of thousands
    of objects that live as long as the process) out of the garbage collector's sight
    (:func:`gc.freeze`). Each full collection otherwise walks them all again; under a paid
    broadcast (1000 sends a second) the collector ran three full collections in ten seconds,
    about half a second each on a busy machine, during which nothing was sent."""
    gc.collect()
    gc.freeze()


async def run_forever(settings: Settings) -> None:
    """`rapport run`: polls until SIGINT or SIGTERM, then stops cleanly: fetching stops, the
    updates being handled are awaited for up to ``stop_grace_seconds``, and whatever is not
    finished stays in the inbox, to be handled first at the next start."""
    services = await build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        bot = await _start_when_reachable(services, settings, stop)
        if bot is None:  # stopped while Telegram was out of reach
            return
        freeze_start_up_heap()
        log.info("rapport is running with %s; press Ctrl+C to stop", settings.framework)
        try:
            await stop.wait()
        finally:
            await bot.stop()
    finally:
        await services.close()


async def _start_when_reachable(
    services: Services, settings: Settings, stop: asyncio.Event
) -> RunningBot | None:
    """Starts the bot; while Telegram cannot be reached, says so in one line and tries again
    with back-off (doubling from ``telegram_retry_min_seconds`` up to
    ``telegram_retry_max_seconds``) until it can, or until the process is asked to stop
    (then None). A refused token is not retried: :class:`TokenRefused` propagates."""
    delay = settings.telegram_retry_min_seconds
    where = urlsplit(settings.api_base).netloc or settings.api_base
    while True:
        try:
            return await start_bot(services, settings.framework)
        except TelegramUnreachable as exc:
            log.warning(
                "Telegram cannot be reached at %s (%s); trying again in %.0f s", where, exc, delay
            )
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            delay = min(delay * 2, settings.telegram_retry_max_seconds)
            continue
        return None
