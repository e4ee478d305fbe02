"""Registers ``bot.handlers.ROUTES`` as python-telegram-bot handlers, in order, one group."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

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

Callback_ = Callable[[Update, Any], Coroutine[Any, Any, None]]


def _runner(dispatcher: Dispatcher, route: Route) -> Callback_:
    async def run(update: Update, context: Any) -> None:
        incoming = incoming_from_update(update.to_dict())
        if incoming is None:
            return
        if route.staff:
            assert route.action is not None
            handler: Any = route.handler
            await dispatcher.handle_staff(incoming, handler, route.action)
        else:
            await dispatcher.handle(incoming, route.handler)  # type: ignore[arg-type]

    return run


def build_handlers(dispatcher: Dispatcher) -> list[BaseHandler[Update, Any, None]]:
    handlers: list[BaseHandler[Update, Any, None]] = []
    # PTB's message handlers also take edited messages unless told not to; aiogram keeps
    # them apart. Only the EditedMessage route sees edits, as in aiogram.
    new = ~filters.UpdateType.EDITED
    for route in ROUTES:
        run = _runner(dispatcher, route)
        chats = filters.ChatType.GROUPS if route.staff else filters.ChatType.PRIVATE
        match route.trigger:
            case Command(name):
                handlers.append(CommandHandler(name, run, filters=chats & new))
            case Callback(prefix):
                handlers.append(CallbackQueryHandler(run, pattern=f"^{re.escape(prefix)}"))
            case AnyCommand():
                handlers.append(MessageHandler(chats & new & filters.COMMAND, run))
            case AnyText():
                handlers.append(MessageHandler(chats & new & filters.TEXT & ~filters.COMMAND, run))
            case Contact():
                handlers.append(MessageHandler(chats & new & filters.CONTACT, run))
            case EditedMessage():
                handlers.append(MessageHandler(chats & filters.UpdateType.EDITED_MESSAGE, run))
            case TopicMessage():
                handlers.append(MessageHandler(chats & new & filters.IS_TOPIC_MESSAGE, run))
            case AnyMessage():
                handlers.append(MessageHandler(chats & new, run))
    return handlers
