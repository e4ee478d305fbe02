"""Runs the bot with python-telegram-bot by long polling (against Telegram or the emulator).

PTB's own JobQueue is disabled (``job_queue(None)``): rapport keeps one scheduler of its own
whose jobs persist. Its HTTP client is built with ``trust_env=False`` so a proxy setting in
the environment cannot capture requests meant for a local Bot API server.
"""

from __future__ import annotations

import logging
import os

from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.adapters.connection import Connection
from bot.adapters.ptb.messenger import PtbMessenger
from bot.adapters.ptb.routing import build_handlers
from bot.core.dispatch import Dispatcher

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class PtbApp:
    """Built by the composition root: ``messenger`` is ready at once (the core's Deps need
    it); `start(dispatcher)` begins polling in the background; `stop()` ends it and shuts PTB
    down."""

    framework = "ptb"

    def __init__(self, connection: Connection) -> None:
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        base = connection.api_base.rstrip("/")
        self._polling_timeout = connection.polling_timeout
        poll_read_timeout = connection.polling_timeout + 10.0
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(connection.token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .request(HTTPXRequest(httpx_kwargs={"trust_env": False}, connection_pool_size=16))
            .get_updates_request(
                HTTPXRequest(httpx_kwargs={"trust_env": False}, read_timeout=poll_read_timeout)
            )
            .job_queue(None)
            .concurrent_updates(True)
            .build()
        )
        self.messenger = PtbMessenger(self.application.bot)

    async def start(self, dispatcher: Dispatcher) -> None:
        await self.application.initialize()  # calls getMe: its username tells our commands
        username = self.application.bot.username  # from other bots'
        self.application.add_handlers(build_handlers(dispatcher, username))
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            timeout=self._polling_timeout, allowed_updates=ALLOWED_UPDATES
        )
        log.info("python-telegram-bot polling started")

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        log.info("python-telegram-bot stopped")
