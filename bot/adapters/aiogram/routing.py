"""Registers ``bot.handlers.ROUTES`` on an aiogram ``Router``, in order, private chats only."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command as CommandFilter
from aiogram.types import CallbackQuery, Message, Update

from bot.adapters.update import incoming_from_update
from bot.core.dispatch import Dispatcher
from bot.handlers import (
    ROUTES,
    AnyCommand,
    AnyMessage,
    AnyText,
    Callback,
    Command,
    Contact,
    EditedMessage,
    Route,
    TopicMessage,
)

PRIVATE_KIND = frozenset({"private"})
GROUP_KINDS = frozenset({"group", "supergroup"})


def _as_json(update: Update) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


def _runner(dispatcher: Dispatcher, route: Route) -> Any:
    async def run(event: Message | CallbackQuery, event_update: Update) -> None:
        incoming = incoming_from_update(_as_json(event_update))
        if incoming is None:
            return
        if route.staff:
            assert route.action is not None
            handler: Any = route.handler
            await dispatcher.handle_staff(incoming, handler, route.action)
        else:
            await dispatcher.handle(incoming, route.handler)  # type: ignore[arg-type]

    run.__name__ = f"aiogram_{getattr(route.handler, '__name__', 'handler')}"
    return run


def build_router(dispatcher: Dispatcher) -> Router:
    router = Router(name="rapport")
    for route in ROUTES:
        run = _runner(dispatcher, route)
        kinds = GROUP_KINDS if route.staff else PRIVATE_KIND
        in_chat = F.chat.type.in_(kinds)
        button_in_chat = F.message.chat.type.in_(kinds)
        match route.trigger:
            case Command(name):
                router.message.register(run, in_chat, CommandFilter(name, ignore_case=True))
            case Callback(prefix):
                router.callback_query.register(run, button_in_chat, F.data.startswith(prefix))
            case AnyCommand():
                router.message.register(run, in_chat, F.text.startswith("/"))
            case AnyText():
                router.message.register(run, in_chat, F.text)
            case Contact():
                router.message.register(run, in_chat, F.contact)
            case EditedMessage():
                router.edited_message.register(run, in_chat)
            case TopicMessage():
                router.message.register(run, in_chat, F.is_topic_message)
            case AnyMessage():
                router.message.register(run, in_chat)
    return router
