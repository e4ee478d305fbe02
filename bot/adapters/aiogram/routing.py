"""Hands every update aiogram receives to the core's dispatcher: convert and call.

No aiogram filters decide anything: one handler per update type takes everything, and the
core's routing table (:data:`bot.handlers.routes.ROUTING`) chooses the handler, exactly as it
does for python-telegram-bot.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import Update

from bot.adapters.update import incoming_from_update
from bot.core.dispatch import Dispatcher


def build_router(dispatcher: Dispatcher, bot_username: str | None) -> Router:
    router = Router(name="rapport")

    async def run(event: Any, event_update: Update) -> None:
        data = event_update.model_dump(mode="json", by_alias=True, exclude_none=True)
        incoming = incoming_from_update(data, bot_username)
        if incoming is not None:
            await dispatcher.dispatch(incoming)
        else:  # nothing for the core to do: out of the inbox
            await dispatcher.discard(event_update.update_id)

    router.message.register(run)
    router.edited_message.register(run)
    router.callback_query.register(run)
    return router
