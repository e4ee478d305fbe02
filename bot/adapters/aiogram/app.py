"""Runs the bot with aiogram by long polling or webhook (against Telegram or the emulator).

aiogram's own ``start_polling`` asks for the next offset (confirming a batch to Telegram)
before the batch is handled, and its ``stop_polling`` does not await running handlers. So the
loop is ours (:class:`bot.adapters.polling.Poller`): aiogram's ``Bot.get_updates`` fetches,
the core's inbox records, and ``Dispatcher.feed_update`` — aiogram's own dispatch — handles.
With a webhook configured, :class:`bot.adapters.webhook.WebhookReceiver` takes the place of
the loop and aiogram's ``Bot.set_webhook`` registers it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Update

from bot.adapters.aiogram.messenger import AiogramMessenger
from bot.adapters.aiogram.routing import build_router
from bot.adapters.aiogram.session import make_session
from bot.adapters.connection import Connection, TelegramUnreachable, TokenRefused
from bot.adapters.polling import Poller
from bot.adapters.webhook import WebhookReceiver, WebhookUnavailable, start_source
from bot.core.dispatch import Dispatcher

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_READ_MARGIN_SECONDS = 10
"""How much longer than the long-polling timeout a ``getUpdates`` request may take."""


class AiogramApp:
    """Built by the composition root: ``messenger`` is ready at once (the core's Deps need
    it); `start(dispatcher)` handles what the inbox still holds and begins polling in the
    background; `stop()` stops polling, awaits the updates in flight (bounded) and closes the
    session."""

    framework = "aiogram"

    def __init__(self, connection: Connection) -> None:
        session = make_session(
            connection.api_base, connection.request_timeout_seconds, connection.connections
        )
        self._polling_timeout = connection.polling_timeout
        self._policy = connection.polling
        self._webhook = connection.webhook
        self.bot = Bot(connection.token, session=session)
        self.messenger = AiogramMessenger(self.bot, paid_broadcast=connection.paid_broadcast)
        self._dp = AiogramDispatcher()
        self._source: Poller[Update] | WebhookReceiver[Update] | None = None

    async def start(self, dispatcher: Dispatcher) -> None:
        try:  # getMe: its username tells our commands from other bots'
            me = await self.bot.me()
        except (TelegramUnauthorizedError, TelegramNotFound) as exc:
            raise TokenRefused(exc.message) from None
        except (TelegramNetworkError, TelegramServerError, OSError, TimeoutError) as exc:
            raise TelegramUnreachable(_reason(exc)) from None
        self._dp.include_router(build_router(dispatcher, me.username))
        self._source = await start_source(
            name="aiogram",
            dispatcher=dispatcher,
            policy=self._policy,
            webhook=self._webhook,
            fetch=self._fetch,
            to_json=_to_json,
            from_json=self._from_json,
            feed=self._feed,
            register=self._register,
        )

    async def _register(self, url: str, secret_token: str, max_connections: int) -> object:
        try:
            return await self.bot.set_webhook(
                url,
                secret_token=secret_token,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=max_connections,
            )
        except TelegramBadRequest as exc:
            raise WebhookUnavailable(f"Telegram refused the webhook: {exc.message}") from None
        except (TelegramNetworkError, TelegramServerError, OSError, TimeoutError) as exc:
            raise TelegramUnreachable(_reason(exc)) from None

    async def _fetch(self, offset: int | None) -> Sequence[Update]:
        return await self.bot.get_updates(
            offset=offset,
            timeout=self._polling_timeout,
            allowed_updates=ALLOWED_UPDATES,
            request_timeout=self._polling_timeout + POLL_READ_MARGIN_SECONDS,
        )

    def _from_json(self, payload: Mapping[str, Any]) -> Update:
        return Update.model_validate(payload, context={"bot": self.bot})

    async def _feed(self, update: Update) -> object:
        return await self._dp.feed_update(self.bot, update)

    async def stop(self) -> None:
        if self._source is not None:
            await self._source.stop()
            self._source = None
        await self.bot.session.close()
        log.info("aiogram stopped")


def _to_json(update: Update) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


def _reason(exc: BaseException) -> str:
    """A short, token-free reason for a failed connection."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
