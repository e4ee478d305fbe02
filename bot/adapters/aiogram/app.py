"""Runs the bot with aiogram by long polling (against Telegram or the local emulator)."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.adapters.aiogram.messenger import AiogramMessenger
from bot.adapters.aiogram.routing import build_router
from bot.adapters.connection import Connection
from bot.core.dispatch import Dispatcher

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class AiogramApp:
    """Built by the composition root: ``messenger`` is ready at once (the core's Deps need
    it); `start(dispatcher)` begins polling in the background; `stop()` ends it and closes the
    session."""

    framework = "aiogram"

    def __init__(self, connection: Connection) -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(connection.api_base))
        self._polling_timeout = connection.polling_timeout
        self.bot = Bot(connection.token, session=session)
        self.messenger = AiogramMessenger(self.bot)
        self._dp = AiogramDispatcher()
        self._task: asyncio.Task[None] | None = None

    async def start(self, dispatcher: Dispatcher) -> None:
        me = await self.bot.me()  # its username tells our commands from other bots'
        self._dp.include_router(build_router(dispatcher, me.username))
        self._task = asyncio.create_task(
            self._dp.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                polling_timeout=self._polling_timeout,
                allowed_updates=ALLOWED_UPDATES,
            ),
            name="aiogram-polling",
        )
        log.info("aiogram polling started")

    async def stop(self) -> None:
        if self._task is not None:
            if not self._task.done():
                try:
                    await self._dp.stop_polling()
                except RuntimeError:  # polling had not got going yet
                    self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.bot.session.close()
        log.info("aiogram stopped")
