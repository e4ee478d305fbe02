"""Sends the core's rendered messages through an aiogram ``Bot``."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.adapters.errors import from_bad_request, from_forbidden
from bot.adapters.update import inline_keyboard, reply_markup
from bot.core.errors import DeliveryError, RateLimited, TransientError
from bot.core.messages import Outgoing, Sent

PARSE_MODE = "HTML"

ERRORS = (
    TelegramRetryAfter,
    TelegramForbiddenError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramServerError,
)


def translate(exc: Exception) -> DeliveryError:
    """aiogram's exception → the core's delivery error."""
    if isinstance(exc, TelegramRetryAfter):
        return RateLimited(float(exc.retry_after), exc.message)
    if isinstance(exc, TelegramForbiddenError):
        return from_forbidden(exc.message)
    if isinstance(exc, TelegramBadRequest):
        return from_bad_request(exc.message)
    return TransientError(str(exc))


class AiogramMessenger:
    """Implements :class:`bot.core.ports.Messenger` with aiogram."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: Outgoing) -> Sent:
        keyboard = inline_keyboard(message.buttons)
        markup = InlineKeyboardMarkup.model_validate(keyboard) if keyboard else None
        try:
            if message.copy_message_id is not None and message.copy_from_chat_id is not None:
                copied = await self.bot.copy_message(
                    chat_id=message.chat_id,
                    from_chat_id=message.copy_from_chat_id,
                    message_id=message.copy_message_id,
                    message_thread_id=message.thread_id,
                    caption=message.text or None,
                    parse_mode=PARSE_MODE if message.text else None,
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
        except TelegramBadRequest as exc:
            raise from_bad_request(exc.message) from exc

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
