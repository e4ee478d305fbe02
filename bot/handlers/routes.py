"""ROUTES: the ordered table of what triggers which handler, registered by both adapters.

Each adapter translates a trigger into its framework's own filter (aiogram's ``Command`` and
``F.data.startswith``; PTB's ``CommandHandler`` and ``CallbackQueryHandler(pattern=…)``) in
this order, first match wins, fallbacks last. All routes serve private chats for now.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.dispatch import Handler
from bot.core.messages import ChatKind, ContentKind, Incoming
from bot.flows import faq_confirm
from bot.handlers import language, questions, start


@dataclass(frozen=True, slots=True)
class Command:
    """``/name`` (also ``/name@botname``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Callback:
    """A button press whose payload starts with `prefix` (empty prefix: any button)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class AnyCommand:
    """Any other ``/command``."""


@dataclass(frozen=True, slots=True)
class AnyText:
    """Plain text that is not a command."""


@dataclass(frozen=True, slots=True)
class AnyMessage:
    """Any other message: photo, document, voice, sticker, location…"""


Trigger = Command | Callback | AnyCommand | AnyText | AnyMessage


@dataclass(frozen=True, slots=True)
class Route:
    trigger: Trigger
    handler: Handler


ROUTES: tuple[Route, ...] = (
    Route(Command("start"), start.on_start),
    Route(Command("help"), start.on_help),
    Route(Command("language"), language.on_language),
    Route(Callback(language.PREFIX), language.on_language_chosen),
    Route(Callback(faq_confirm.PREFIX), questions.on_faq_choice),
    Route(Callback(""), questions.on_stale_button),
    Route(AnyCommand(), start.on_unknown_command),
    Route(AnyText(), questions.on_text),
    Route(AnyMessage(), questions.on_attachment),
)


def matches(trigger: Trigger, msg: Incoming) -> bool:
    """The meaning of each trigger, as a plain function: the reference the adapters' filters
    implement, and what tests and fake adapters route with."""
    match trigger:
        case Command(name):
            return msg.command == name
        case Callback(prefix):
            return msg.is_callback and (msg.callback_data or "").startswith(prefix)
        case AnyCommand():
            return msg.command is not None
        case AnyText():
            return not msg.is_callback and msg.command is None and msg.content is ContentKind.TEXT
        case AnyMessage():
            return not msg.is_callback
    return False


def select(msg: Incoming, routes: tuple[Route, ...] = ROUTES) -> Handler | None:
    """The first route whose trigger matches, as the adapters register them (private chats)."""
    if msg.chat_kind is not ChatKind.PRIVATE:
        return None
    for route in routes:
        if matches(route.trigger, msg):
            return route.handler
    return None
