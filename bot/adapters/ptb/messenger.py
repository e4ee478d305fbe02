"""Sends the core's rendered messages through a python-telegram-bot ``Bot``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.adapters.errors import from_bad_request, from_forbidden
from bot.adapters.http import may_have_arrived
from bot.adapters.update import inline_keyboard, reply_markup
from bot.core.errors import DeliveryError, RateLimited, TransientError, UncertainDelivery
from bot.core.messages import Outgoing, Sent

PARSE_MODE = "HTML"

ERRORS = (RetryAfter, Forbidden, BadRequest, TimedOut, NetworkError)


def translate(exc: Exception) -> DeliveryError:
    """python-telegram-bot's exception → the core's delivery error (RetryAfter, Forbidden
    and BadRequest are NetworkErrors too, so order matters).

    A TimedOut or NetworkError that aiohttp raised while the request was out (a read timeout,
    "Server disconnected without sending a response", a reset) is :class:`UncertainDelivery`;
    one raised before it left, or an error answer from the server (5xx, no aiohttp cause), is a
    plain :class:`TransientError`."""
    if isinstance(exc, RetryAfter):
        return RateLimited(_seconds(exc.retry_after), exc.message)
    if isinstance(exc, Forbidden):
        return from_forbidden(exc.message)
    if isinstance(exc, BadRequest):
        return from_bad_request(exc.message)
    cause = exc.__cause__
    if may_have_arrived(cause):
        return UncertainDelivery(f"{type(exc).__name__}: {exc} ({type(cause).__name__})")
    return TransientError(str(exc))


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PtbMessenger:
    """Implements :class:`bot.core.ports.Messenger` with python-telegram-bot."""

    def __init__(self, bot: Bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self._paid = True if paid_broadcast else None
        """``allow_paid_broadcast`` for new messages and copies (None: left out)."""

    async def send(self, message: Outgoing) -> Sent:
        keyboard = inline_keyboard(message.buttons)
        markup = InlineKeyboardMarkup.de_json(keyboard, self.bot) if keyboard else None
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
                reply_markup=self._new_message_markup(message),
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
            [BotCommand(name, text) for name, text in commands], language_code=language_code
        )

    def _new_message_markup(
        self, message: Outgoing
    ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
        markup = reply_markup(message)
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            return InlineKeyboardMarkup.de_json(markup, self.bot)
        if "keyboard" in markup:
            return ReplyKeyboardMarkup(
                [
                    [KeyboardButton(b["text"], request_contact=True) for b in row]
                    for row in markup["keyboard"]
                ],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
        return ReplyKeyboardRemove()
