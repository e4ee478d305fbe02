"""Receiving updates by webhook, shared by both adapters: check, record, answer, then handle.

Telegram POSTs each update to the URL the bot registered with ``setWebhook`` and forgets it
once the answer is a 2xx; any other answer (or none within its timeout) makes it deliver the
update again later. So the receiver answers 200 only after the update is recorded in the
core's inbox — the same "accept, then confirm" rule as the long-poll loop
(:mod:`bot.adapters.polling`), with the HTTP answer in the place of the next offset:

1. a request without the ``X-Telegram-Bot-Api-Secret-Token`` the bot registered gets 401 and
   nothing is read or recorded (anyone can find the URL; only Telegram knows the token);
2. the body is recorded (:meth:`bot.core.dispatch.Dispatcher.accept`); if the database does
   not take it within ``accept_timeout_seconds`` the answer is 503 and Telegram re-delivers;
3. 200, and an update new to the inbox is fed to the framework's own dispatch in a task of
   its own. A re-delivery of a recorded update answers 200 and is not fed again.

At start the receiver first feeds what the inbox still holds, then listens, then registers
the webhook (with the secret token and the update kinds the bot handles). A stop answers 503
to new requests (Telegram re-delivers them, to this worker after its restart or to another),
then drains like the poller. The webhook stays registered: with several workers behind one
URL, one worker stopping must not switch the others off.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from aiohttp import web

from bot.adapters.connection import PollingPolicy, WebhookConfig
from bot.adapters.polling import Feeder, Intake, Poller, chat_of
from bot.core.ports import InboundUpdate

log = logging.getLogger(__name__)

U = TypeVar("U")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20
"""Telegram's updates are a few kilobytes; anything near a megabyte is not Telegram."""


class WebhookUnavailable(Exception):
    """The receiver cannot work: it cannot listen (address in use, no permission) or Telegram
    refused the webhook (not HTTPS, a bad secret). The message says which, in one line."""


def derived_secret(token: str) -> str:
    """A webhook secret derived from the bot token, for deployments that set none: every worker
    of one bot computes the same one, and it never equals or reveals the token. 64 characters
    of ``[0-9a-f]``, within Telegram's ``[A-Za-z0-9_-]{1,256}``."""
    return hmac.new(b"rapport webhook secret", token.encode(), hashlib.sha256).hexdigest()


Register = Callable[[str, str, int], Awaitable[object]]
"""``register(url, secret_token, max_connections)``: the framework's ``set_webhook``."""


class WebhookReceiver(Generic[U]):
    """An HTTP server that receives framework updates of type `U` by webhook.

    `from_json` turns Bot API JSON into the framework's update; `feed` hands one update to the
    framework's own dispatch; `register` is the framework's ``set_webhook``."""

    def __init__(
        self,
        *,
        name: str,
        dispatcher: Intake,
        policy: PollingPolicy,
        config: WebhookConfig,
        from_json: Callable[[Mapping[str, Any]], U],
        feed: Callable[[U], Awaitable[object]],
        register: Register,
    ) -> None:
        self._name = name
        self._config = config
        self._feeder = Feeder(
            name=name, dispatcher=dispatcher, policy=policy, from_json=from_json, feed=feed
        )
        self._register = register
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port: int | None = None
        """The port actually bound (useful when the configured port is 0)."""

    @property
    def in_flight(self) -> int:
        """Updates fed to the framework and not finished."""
        return self._feeder.in_flight

    async def start(self) -> None:
        """Feeds what the inbox holds, listens, then registers the webhook with Telegram.
        Raises :class:`WebhookUnavailable` when the address cannot be bound or Telegram
        refuses the webhook; whatever began is stopped first."""
        await self._feeder.begin()
        try:
            await self._listen()
            # The adapter turns a refusal into WebhookUnavailable, no connection into
            # TelegramUnreachable (the composition root retries that one).
            await self._register(
                self._config.public_url, self._config.secret_token, self._config.max_connections
            )
        except BaseException:
            await self.stop()
            raise
        log.info("%s: receiving updates by webhook on port %s", self._name, self.port)

    async def _listen(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self._config.path, self._receive)
        app.add_routes(self._config.routes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._config.host, self._config.port)
        try:
            await site.start()
        except OSError as exc:
            where = f"{self._config.host}:{self._config.port}"
            raise WebhookUnavailable(f"cannot listen on {where}: {exc.strerror}") from None
        self.port = _bound_port(runner, self._config.port)

    async def stop(self) -> None:
        """Answers 503 to new requests, closes the server, then drains (:meth:`Feeder.drain`)."""
        self._closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._feeder.drain()

    async def _receive(self, request: web.Request) -> web.Response:
        if self._closing:
            return web.Response(status=503, text="stopping")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._config.secret_token.encode()):
            log.warning("%s: webhook request without the right secret token refused", self._name)
            return web.Response(status=401, text="unauthorized")
        try:
            payload = await request.json()
            update_id = int(payload["update_id"])
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not a Telegram update")
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="too large")
        item = InboundUpdate(update_id, chat_of(payload), payload)
        try:  # not answered 2xx: Telegram delivers it again later
            added = await asyncio.wait_for(
                self._feeder.accept([item]), self._config.accept_timeout_seconds
            )
        except TimeoutError:
            log.warning(
                "%s: update %s not recorded within %.0f s; answered 503, Telegram re-delivers",
                self._name,
                update_id,
                self._config.accept_timeout_seconds,
            )
            return web.Response(status=503, text="busy")
        if update_id in added:
            try:
                update = self._feeder.from_json(payload)
            except Exception:  # recorded: the next start tries again, with a fixed framework
                log.exception(
                    "%s: update %s cannot be read; left in the inbox", self._name, update_id
                )
            else:
                await self._feeder.room()
                self._feeder.spawn(update, update_id)
        return web.Response(status=200)


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured


async def start_source(
    *,
    name: str,
    dispatcher: Intake,
    policy: PollingPolicy,
    webhook: WebhookConfig | None,
    fetch: Callable[[int | None], Awaitable[Sequence[U]]],
    to_json: Callable[[U], dict[str, Any]],
    from_json: Callable[[Mapping[str, Any]], U],
    feed: Callable[[U], Awaitable[object]],
    register: Register,
) -> Poller[U] | WebhookReceiver[U]:
    """Starts the adapter's update source: the webhook receiver when `webhook` is configured,
    else the long-poll loop. Both are stopped with ``await source.stop()``."""
    if webhook is None:
        poller = Poller(
            name=name,
            dispatcher=dispatcher,
            policy=policy,
            fetch=fetch,
            to_json=to_json,
            from_json=from_json,
            feed=feed,
        )
        poller.start()
        log.info("%s: polling started", name)
        return poller
    receiver = WebhookReceiver(
        name=name,
        dispatcher=dispatcher,
        policy=policy,
        config=webhook,
        from_json=from_json,
        feed=feed,
        register=register,
    )
    await receiver.start()
    return receiver
