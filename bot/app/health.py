"""``GET /healthz`` and ``GET /metrics``: what an operator's load balancer and Prometheus ask.

* ``/healthz`` answers 200 when this worker can reach the database and the schema is at the
  code's head, else 503, with one JSON object: ``database`` (reachable), ``schema`` (the
  revisions and whether they are at head), ``lease_holder`` (the process running the
  scheduled jobs, or null while nobody holds the lease), ``outbox`` (pending rows by lane and
  the age of the oldest, seconds) and ``worker`` (this process).
* ``/metrics`` is Prometheus's text format (``prometheus-client``): this process's counters
  (updates handled and failed, messages sent, 429s from Telegram) and, read from the
  database at each scrape so every worker reports the same, the outbox rows by lane and
  state, the backlog by lane and SLA breaches by kind.

Served on the webhook port in webhook mode (the reverse proxy should forward only the
webhook's path, so these stay private), else on ``RAPPORT_HEALTH_LISTEN`` when set. Neither
ever shows a customer's data, a token or a key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import col

from bot.app.settings import Settings
from bot.core.outbox_model import OutboxState
from storage.engine import read_only
from storage.migrate import SchemaState, schema_state
from storage.tables import OutboxRow, TicketRow

if TYPE_CHECKING:
    from bot.app.bootstrap import Services
    from bot.app.runner import RunningBot

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 5.0
"""A database that does not answer within this is reported unreachable."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the database says at one moment (for both endpoints)."""

    database: bool
    schema: SchemaState | None = None
    lease_holder: str | None = None
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    """(lane, state) → outbox rows."""
    oldest_pending_seconds: float | None = None
    breaches: dict[str, int] = field(default_factory=dict)
    """SLA breaches by kind (first_response, resolution)."""

    @property
    def healthy(self) -> bool:
        return self.database and self.schema is not None and self.schema.at_head

    def backlog(self) -> dict[str, int]:
        """Pending outbox rows by lane."""
        lanes: dict[str, int] = {}
        for (lane, state), n in self.rows.items():
            if state == OutboxState.PENDING.value:
                lanes[lane] = lanes.get(lane, 0) + n
        return lanes


class HealthProbe:
    """Reads the snapshot; `attach` gives it the running bot once it has started (the
    endpoints answer 503 "starting" before)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.bot: RunningBot | None = None

    def attach(self, bot: RunningBot) -> None:
        self.bot = bot

    async def snapshot(self) -> Snapshot:
        try:
            return await asyncio.wait_for(self._read(), PROBE_TIMEOUT_SECONDS)
        except Exception as exc:  # unreachable, locked past the timeout, no such table
            log.warning("health probe: database not reachable (%s)", type(exc).__name__)
            return Snapshot(database=False)

    async def _read(self) -> Snapshot:
        services = self.services
        now = services.clock.now()
        engine = read_only(services.engine)  # a long write (an import, VACUUM) must not stall it
        async with engine.connect() as connection:
            counted = await connection.execute(
                select(col(OutboxRow.lane), col(OutboxRow.state), func.count()).group_by(
                    col(OutboxRow.lane), col(OutboxRow.state)
                )
            )
            rows = {(str(lane), str(state)): int(n) for lane, state, n in counted}
            oldest: datetime | None = await connection.scalar(
                select(func.min(col(OutboxRow.created_at))).where(
                    col(OutboxRow.state) == OutboxState.PENDING.value
                )
            )
            breaches = {
                kind: int(
                    await connection.scalar(
                        select(func.count()).select_from(TicketRow).where(column.is_not(None))
                    )
                    or 0
                )
                for kind, column in (
                    ("first_response", col(TicketRow.first_response_breached_at)),
                    ("resolution", col(TicketRow.resolution_breached_at)),
                )
            }
        schema = await schema_state(services.settings.database_url, engine=engine)
        holder = None
        if self.bot is not None:
            holder = await self.bot.scheduler.lease.current_holder(now)
        return Snapshot(
            database=True,
            schema=schema,
            lease_holder=holder,
            rows=rows,
            oldest_pending_seconds=(now - oldest).total_seconds() if oldest else None,
            breaches=breaches,
        )

    def health_json(self, snapshot: Snapshot) -> dict[str, object]:
        schema = snapshot.schema
        return {
            "status": "ok" if snapshot.healthy else "unhealthy",
            "database": snapshot.database,
            "schema": None
            if schema is None
            else {
                "at_head": schema.at_head,
                "database": sorted(schema.database),
                "code": sorted(schema.code),
            },
            "lease_holder": snapshot.lease_holder,
            "worker": self.bot.dispatcher.worker if self.bot is not None else None,
            "outbox": {
                "pending": snapshot.backlog(),
                "oldest_pending_seconds": snapshot.oldest_pending_seconds,
            },
        }

    # ------------------------------------------------------------------ endpoints
    async def healthz(self, _request: web.Request) -> web.Response:
        snapshot = await self.snapshot()
        status = 200 if snapshot.healthy else 503
        return web.json_response(self.health_json(snapshot), status=status)

    async def metrics(self, _request: web.Request) -> web.Response:
        registry = CollectorRegistry()
        registry.register(_Collector(self, await self.snapshot()))
        body = await asyncio.to_thread(generate_latest, registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/healthz", self.healthz), web.get("/metrics", self.metrics)]


class _Collector(Collector):
    """One scrape's metrics: process counters and the database snapshot."""

    def __init__(self, probe: HealthProbe, snapshot: Snapshot) -> None:
        self.probe, self.snapshot = probe, snapshot

    def collect(self) -> Iterator[Any]:
        bot, snapshot = self.probe.bot, self.snapshot
        up = GaugeMetricFamily("rapport_up", "1 when the database is reachable and at head.")
        up.add_metric([], 1.0 if snapshot.healthy else 0.0)
        yield up
        if bot is not None:
            dispatcher, counts = bot.dispatcher, bot.dispatcher.delivery.counts
            for name, doc, value in (
                ("rapport_updates_handled", "Updates this process handled.", dispatcher.handled),
                ("rapport_updates_failed", "Updates this process gave up on.", dispatcher.failed),
                ("rapport_messages_sent", "Messages this process sent to Telegram.", counts.sent),
                ("rapport_telegram_429", "429 answers from Telegram here.", counts.rate_limited),
            ):
                counter = CounterMetricFamily(name, doc)
                counter.add_metric([], float(value))
                yield counter
        rows = GaugeMetricFamily(
            "rapport_outbox_rows", "Outbox rows by lane and state.", labels=["lane", "state"]
        )
        for (lane, state), n in sorted(snapshot.rows.items()):
            rows.add_metric([lane, state], float(n))
        yield rows
        backlog = GaugeMetricFamily(
            "rapport_outbox_backlog", "Pending outbox rows by lane.", labels=["lane"]
        )
        for lane, n in sorted(snapshot.backlog().items()):
            backlog.add_metric([lane], float(n))
        yield backlog
        breaches = GaugeMetricFamily(
            "rapport_sla_breaches", "Tickets that breached an SLA, by kind.", labels=["kind"]
        )
        for kind, n in sorted(snapshot.breaches.items()):
            breaches.add_metric([kind], float(n))
        yield breaches


@dataclass(slots=True)
class HealthServer:
    """The endpoints on a port of their own (polling mode, ``RAPPORT_HEALTH_LISTEN``)."""

    runner: web.AppRunner

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_health_server(probe: HealthProbe, listen: str) -> HealthServer:
    host, port = Settings.host_port(listen)
    app = web.Application()
    app.add_routes(probe.routes())
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise HealthUnavailable(f"cannot listen on {listen}: {exc.strerror}") from None
    log.info("health and metrics on %s", listen)
    return HealthServer(runner)


class HealthUnavailable(Exception):
    """The health endpoint cannot listen; the message says where."""
