"""The order events endpoint (issue #10; the request format is in docs/events.md).

When ``RAPPORT_EVENTS_PORT`` is set, :func:`bot.app.runner.start_bot` serves
``POST /events/orders`` on ``RAPPORT_EVENTS_HOST`` beside polling. Each request is checked in
this order, and a refused one changes nothing:

1. the body is at most ``events_max_body_bytes`` — else 413;
2. ``X-Rapport-Signature`` is the HMAC-SHA256 of the raw body under ``RAPPORT_EVENTS_SECRET``
   (:func:`bot.core.order_events.signature_ok`) — else 401;
3. the body is an event (:func:`bot.core.order_events.parse_event`, the import's own row
   validation) — else 400 with ``{"error": "<what, naming the field>"}``;
4. the event fits the stored order (same customer) — else 422.

Then the event is applied in one transaction (:func:`storage.order_events.apply_order_event`)
and the answer is 200 with ``{"order_id", "result": created|updated|unchanged, "status"}``. A
database that stays busy answers 503, and the shop sends the event again (repeats are harmless).

Events are applied one at a time per process (an :class:`asyncio.Lock`), so two events of one
order cannot interleave their read and write; the state lives in the database only. The secret
and the bodies are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.settings import Settings
from bot.core.order_events import SIGNATURE_HEADER, EventError, parse_event, signature_ok
from bot.core.ports import Clock
from bot.core.tiers import TierPolicy
from storage.order_events import apply_order_event

log = logging.getLogger(__name__)

PATH = "/events/orders"


class EventsConfigError(ValueError):
    """The endpoint is asked for but cannot be served as configured (one line, no secret)."""


def events_secret(settings: Settings) -> bytes | None:
    """The signing secret when the endpoint is enabled, None when it is not; raises
    :class:`EventsConfigError` for a port without a secret."""
    if settings.events_port is None:
        return None
    secret = settings.events_secret.get_secret_value() if settings.events_secret else ""
    if not secret:
        raise EventsConfigError(
            "RAPPORT_EVENTS_PORT is set but RAPPORT_EVENTS_SECRET is not: the order events "
            "endpoint needs the shared signing secret"
        )
    return secret.encode("utf-8")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def events_app(
    engine: AsyncEngine,
    secret: bytes,
    *,
    clock: Clock,
    shop_currency: str,
    policy: TierPolicy,
    max_body_bytes: int,
) -> web.Application:
    """The aiohttp application with the one route."""
    lock = asyncio.Lock()

    async def receive(request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the body is larger than {max_body_bytes} bytes")
        if not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("order event refused: bad or missing signature")
            return _error(401, f"bad or missing {SIGNATURE_HEADER}")
        try:
            event = parse_event(body, shop_currency, clock.now())
        except EventError as exc:
            log.info("order event refused: %s", exc)
            return _error(400, str(exc))
        async with lock:
            try:
                outcome = await apply_order_event(engine, event, now=clock.now(), policy=policy)
            except EventError as exc:
                return _error(422, str(exc))
            except OperationalError:
                log.warning("order event not applied: the database is busy")
                return _error(503, "the database is busy; send the event again")
        log.info("order event %s: order %s", event.event, outcome.result)
        return web.json_response(
            {
                "order_id": outcome.order_id,
                "result": outcome.result,
                "status": outcome.status.value,
            }
        )

    app = web.Application(client_max_size=max_body_bytes)
    app.router.add_post(PATH, receive)
    return app


@dataclass(frozen=True, slots=True)
class EventsServer:
    """A listening endpoint; `port` is the one bound (useful when 0 was asked for)."""

    runner: web.AppRunner
    host: str
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_events_server(
    settings: Settings, engine: AsyncEngine, clock: Clock, policy: TierPolicy
) -> EventsServer | None:
    """Starts the endpoint when ``RAPPORT_EVENTS_PORT`` is set (None otherwise); raises
    :class:`EventsConfigError` without a secret or when the port cannot be bound."""
    secret = events_secret(settings)
    if secret is None or settings.events_port is None:
        return None
    app = events_app(
        engine,
        secret,
        clock=clock,
        shop_currency=settings.shop_currency,
        policy=policy,
        max_body_bytes=settings.events_max_body_bytes,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.events_host, settings.events_port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        where = f"{settings.events_host}:{settings.events_port}"
        raise EventsConfigError(
            f"the order events endpoint cannot listen on {where}: {exc.strerror or exc}"
        ) from None
    except BaseException:
        await runner.cleanup()
        raise
    port = int(runner.addresses[0][1]) if runner.addresses else settings.events_port
    log.info("order events endpoint listening on %s:%d%s", settings.events_host, port, PATH)
    return EventsServer(runner, settings.events_host, port)
