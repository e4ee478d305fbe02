"""Runs the bot with python-telegram-bot by long polling or webhook (Telegram or the emulator).

PTB's Updater is not used: it asks for the next offset (confirming a batch to Telegram) before
the batch is handled. The loop is ours (:class:`bot.adapters.polling.Poller`): the bot's own
``get_updates`` fetches, the core's inbox records, and ``Application.process_update`` — PTB's
own dispatch — handles. With a webhook configured,
:class:`bot.adapters.webhook.WebhookReceiver` takes the place of the loop (PTB's own
``run_webhook`` would answer Telegram before recording) and ``Bot.set_webhook`` registers it.

PTB's own JobQueue is disabled (``job_queue(None)``): rapport keeps one scheduler of its own
whose jobs persist. Its HTTP requests go through :class:`~bot.adapters.ptb.request.AiohttpRequest`
(aiohttp, JSON bodies, a pool sized for the bot-wide rate; PTB's httpx client cost ~9 ms of CPU
per send at the paid rate), which ignores proxy settings in the environment so that none can
capture requests meant for a local Bot API server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import Application, ApplicationBuilder

from bot.adapters.connection import Connection, TelegramUnreachable, TokenRefused
from bot.adapters.polling import Poller
from bot.adapters.ptb.messenger import PtbMessenger
from bot.adapters.ptb.request import AiohttpRequest
from bot.adapters.ptb.routing import build_handlers
from bot.adapters.webhook import WebhookReceiver, WebhookUnavailable, start_source
from bot.core.dispatch import Dispatcher

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_READ_MARGIN_SECONDS = 10.0
"""How much longer than the long-polling timeout a ``getUpdates`` request may take."""


class PtbApp:
    """Built by the composition root: ``messenger`` is ready at once (the core's Deps need
    it); `start(dispatcher)` handles what the inbox still holds and begins polling in the
    background; `stop()` stops polling, awaits the updates in flight (bounded) and shuts PTB
    down."""

    framework = "ptb"

    def __init__(self, connection: Connection) -> None:
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        base = connection.api_base.rstrip("/")
        self._polling_timeout = connection.polling_timeout
        self._policy = connection.polling
        self._webhook = connection.webhook
        self._poll_read_timeout = connection.polling_timeout + POLL_READ_MARGIN_SECONDS
        self._requests = (
            AiohttpRequest(
                connections=connection.connections,
                read_timeout=connection.request_timeout_seconds,
            ),
            AiohttpRequest(connections=1, read_timeout=self._poll_read_timeout),
        )
        """(sends and every other call, polling): PTB opens them in ``initialize`` but closes
        them only if that succeeded, so :meth:`stop` closes them too."""
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(connection.token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .job_queue(None)
            .updater(None)
            .concurrent_updates(True)
            .build()
        )
        self.messenger = PtbMessenger(
            self.application.bot, paid_broadcast=connection.paid_broadcast
        )
        self._source: Poller[Update] | WebhookReceiver[Update] | None = None

    async def start(self, dispatcher: Dispatcher) -> None:
        try:  # initialize calls getMe: its username tells our commands from other bots'
            await self.application.initialize()
        except InvalidToken as exc:
            raise TokenRefused(exc.message) from None
        except NetworkError as exc:  # TimedOut and connection failures included
            raise TelegramUnreachable(exc.message.splitlines()[0][:200]) from None
        username = self.application.bot.username
        self.application.add_handlers(build_handlers(dispatcher, username))
        await self.application.start()
        self._source = await start_source(
            name="ptb",
            dispatcher=dispatcher,
            policy=self._policy,
            webhook=self._webhook,
            fetch=self._fetch,
            to_json=_to_json,
            from_json=self._from_json,
            feed=self.application.process_update,
            register=self._register,
        )

    async def _register(self, url: str, secret_token: str, max_connections: int) -> object:
        try:
            return await self.application.bot.set_webhook(
                url,
                secret_token=secret_token,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=max_connections,
            )
        except BadRequest as exc:
            raise WebhookUnavailable(f"Telegram refused the webhook: {exc.message}") from None
        except NetworkError as exc:  # TimedOut and connection failures included
            raise TelegramUnreachable(exc.message.splitlines()[0][:200]) from None

    async def _fetch(self, offset: int | None) -> Sequence[Update]:
        updates: Sequence[Update] = await self.application.bot.get_updates(
            offset=offset,
            timeout=self._polling_timeout,
            allowed_updates=ALLOWED_UPDATES,
            read_timeout=self._poll_read_timeout,
        )
        return updates

    def _from_json(self, payload: Mapping[str, Any]) -> Update:
        update = Update.de_json(dict(payload), self.application.bot)
        assert update is not None
        return update

    async def stop(self) -> None:
        if self._source is not None:
            await self._source.stop()
            self._source = None
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        for request in self._requests:  # a failed start (no getMe) left them open
            await request.shutdown()
        log.info("python-telegram-bot stopped")


def _to_json(update: Update) -> dict[str, Any]:
    return update.to_dict()
