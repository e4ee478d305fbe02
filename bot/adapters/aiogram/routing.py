"""Registers ``bot.handlers.ROUTES`` on an aiogram ``Router``, in order, private chats only."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command as CommandFilter
from aiogram.types import CallbackQuery, Message, Update

from bot.adapters.update import incoming_from_update
from bot.core.dispatch import Dispatcher, Handler
from bot.handlers import ROUTES, AnyCommand, AnyMessage, AnyText, Callback, Command


def _as_json(update: Update) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


def _runner(dispatcher: Dispatcher, handler: Handler) -> Any:
    async def run(event: Message | CallbackQuery, event_update: Update) -> None:
        incoming = incoming_from_update(_as_json(event_update))
        if incoming is not None:
            await dispatcher.handle(incoming, handler)

    run.__name__ = f"aiogram_{getattr(handler, '__name__', 'handler')}"
    return run


def build_router(dispatcher: Dispatcher) -> Router:
    router = Router(name="rapport")
    private = F.chat.type == "private"
    private_button = F.message.chat.type == "private"
    for route in ROUTES:
        run = _runner(dispatcher, route.handler)
        match route.trigger:
            case Command(name):
                router.message.register(run, private, CommandFilter(name, ignore_case=True))
            case Callback(prefix):
                router.callback_query.register(run, private_button, F.data.startswith(prefix))
            case AnyCommand():
                router.message.register(run, private, F.text.startswith("/"))
            case AnyText():
                router.message.register(run, private, F.text)
            case AnyMessage():
                router.message.register(run, private)
    return router
