"""Sends the core's rendered messages through an aiogram ``Bot``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    CreateForumTopic,
    EditMessageText,
    GetMe,
    GetUpdates,
    Response,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.adapters.errors import from_bad_request, from_forbidden
from bot.adapters.http import may_have_arrived
from bot.adapters.update import inline_keyboard, reply_markup
from bot.core.errors import DeliveryError, RateLimited, TransientError, UncertainDelivery
from bot.core.messages import Outgoing, Sent

PARSE_MODE = "HTML"

ERRORS = (
    TelegramRetryAfter,
    TelegramForbiddenError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramServerError,
)


METHODS_CALLED: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    CopyMessage,
    EditMessageText,
    CreateForumTopic,
    AnswerCallbackQuery,
    SetMyCommands,
    GetUpdates,
    GetMe,
)
"""The Bot API methods the adapter calls (this module and :mod:`bot.adapters.aiogram.app`)."""

RESPONSE_MODELS: tuple[type[Response[Any]], ...] = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in METHODS_CALLED
)
"""aiogram parses every answer with ``Response[<the method's result type>]``, a pydantic
generic model that pydantic parametrises once and then keeps in a *weak* cache: without a
strong reference, each garbage collection drops it and the next answer builds it again (about
20 ms of CPU: at 1000 sends a second, a third of the sender's time went there). Holding them
here keeps them built for the life of the process."""


def translate(exc: Exception) -> DeliveryError:
    """aiogram's exception → the core's delivery error.

    aiogram raises TelegramNetworkError for every network failure, the cause attached: a
    timeout ("Request timeout error") or a connection lost while the request was out
    ("ServerDisconnectedError", a reset) is :class:`UncertainDelivery`; a failure before the
    request left (connection refused, a connect timeout) is a plain :class:`TransientError`,
    as is a 5xx answer (TelegramServerError)."""
    if isinstance(exc, TelegramRetryAfter):
        return RateLimited(float(exc.retry_after), exc.message)
    if isinstance(exc, TelegramForbiddenError):
        return from_forbidden(exc.message)
    if isinstance(exc, TelegramBadRequest):
        return from_bad_request(exc.message)
    if isinstance(exc, TelegramNetworkError) and may_have_arrived(exc.__cause__):
        return UncertainDelivery(f"{exc} ({type(exc.__cause__).__name__})")
    return TransientError(str(exc))


class AiogramMessenger:
    """Implements :class:`bot.core.ports.Messenger` with aiogram."""

    def __init__(self, bot: Bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self._paid = True if paid_broadcast else None
        """``allow_paid_broadcast`` for new messages and copies (None: left out)."""

    async def send(self, message: Outgoing) -> Sent:
        keyboard = inline_keyboard(message.buttons)
        markup = InlineKeyboardMarkup.model_validate(keyboard) if keyboard else None
        try:
            if message.delete_message_id is not None:
                await self.bot.delete_message(
                    chat_id=message.chat_id, message_id=message.delete_message_id
                )
                return Sent(message.chat_id, message.delete_message_id)
            if message.rename_thread_id is not None:
                await self.bot.edit_forum_topic(
                    chat_id=message.chat_id,
                    message_thread_id=message.rename_thread_id,
                    name=message.text,
                )
                return Sent(message.chat_id, message.rename_thread_id)
            if message.copy_message_id is not None and message.copy_from_chat_id is not None:
                copied = await self.bot.copy_message(
                    chat_id=message.chat_id,
                    from_chat_id=message.copy_from_chat_id,
                    message_id=message.copy_message_id,
                    message_thread_id=message.thread_id,
                    caption=message.text or None,
                    parse_mode=PARSE_MODE if message.text else None,
                    allow_paid_broadcast=self._paid,
                )
                return Sent(message.chat_id, copied.message_id)
            if message.edit_message_id is not None:
                await self.bot.edit_message_text(
                    text=message.text,
                    chat_id=message.chat_id,
                    message_id=message.edit_message_id,
                    parse_mode=PARSE_MODE,
                    reply_markup=markup,
                )
                return Sent(message.chat_id, message.edit_message_id)
            sent = await self.bot.send_message(
                chat_id=message.chat_id,
                message_thread_id=message.thread_id,
                text=message.text,
                parse_mode=PARSE_MODE,
                allow_paid_broadcast=self._paid,
                reply_markup=_new_message_markup(message),
            )
            return Sent(sent.chat.id, sent.message_id)
        except ERRORS as exc:
            raise translate(exc) from exc

    async def create_topic(self, chat_id: int, name: str, icon_color: int) -> int:
        try:
            topic = await self.bot.create_forum_topic(
                chat_id=chat_id, name=name, icon_color=icon_color
            )
        except ERRORS as exc:
            raise translate(exc) from exc
        return topic.message_thread_id

    async def answer_callback(self, callback_id: str, text: str | None = None) -> None:
        try:
            await self.bot.answer_callback_query(callback_query_id=callback_id, text=text)
        except ERRORS as exc:
            raise translate(exc) from exc

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        await self.bot.set_my_commands(
            [BotCommand(command=name, description=text) for name, text in commands],
            language_code=language_code,
        )


def _new_message_markup(
    message: Outgoing,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    markup = reply_markup(message)
    if markup is None:
        return None
    if "inline_keyboard" in markup:
        return InlineKeyboardMarkup.model_validate(markup)
    if "keyboard" in markup:
        return ReplyKeyboardMarkup.model_validate(markup)
    return ReplyKeyboardRemove.model_validate(markup)
