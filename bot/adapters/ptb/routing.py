"""Hands every update python-telegram-bot receives to the core's dispatcher: convert and call.

No PTB handler classes or filters decide anything: one :class:`TypeHandler` takes every
update, and the core's routing table (:data:`bot.handlers.routes.ROUTING`) chooses the
handler, exactly as it does for aiogram.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from bot.adapters.update import incoming_from_update
from bot.core.dispatch import Dispatcher


def build_handlers(
    dispatcher: Dispatcher, bot_username: str | None
) -> list[BaseHandler[Update, Any, None]]:
    async def run(update: Update, context: Any) -> None:
        incoming = incoming_from_update(update.to_dict(), bot_username)
        if incoming is not None:
            await dispatcher.dispatch(incoming)
        else:  # nothing for the core to do: out of the inbox
            await dispatcher.discard(update.update_id)

    return [TypeHandler(Update, run)]
