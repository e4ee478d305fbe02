"""Bot API update JSON → :class:`~bot.core.messages.Incoming`, shared by both adapters.

aiogram gives the JSON with ``update.model_dump(mode="json", by_alias=True,
exclude_none=True)``, python-telegram-bot with ``update.to_dict()``; both follow the Bot API's
field names, so one converter serves both and they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.core.commands import parse_command
from bot.core.messages import ChatKind, ContentKind, Incoming, OutButton, Outgoing, Sender

# Message fields that carry content, in the order they are checked; the first present wins.
_CONTENT: tuple[tuple[str, ContentKind], ...] = (
    ("photo", ContentKind.PHOTO),
    ("document", ContentKind.DOCUMENT),
    ("voice", ContentKind.VOICE),
    ("video", ContentKind.VIDEO),
    ("video_note", ContentKind.VIDEO),
    ("audio", ContentKind.VOICE),
    ("sticker", ContentKind.STICKER),
    ("location", ContentKind.LOCATION),
    ("venue", ContentKind.LOCATION),
    ("contact", ContentKind.CONTACT),
    ("animation", ContentKind.VIDEO),
)


def _date(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _sender(user: Mapping[str, Any]) -> Sender:
    return Sender(
        id=int(user["id"]),
        first_name=str(user.get("first_name") or ""),
        last_name=user.get("last_name"),
        username=user.get("username"),
        language_code=user.get("language_code"),
    )


def _content(message: Mapping[str, Any]) -> tuple[ContentKind, str | None]:
    for field, kind in _CONTENT:
        value = message.get(field)
        if not value:
            continue
        if field == "photo" and isinstance(value, list):  # sizes, largest last
            return kind, str(value[-1].get("file_id"))
        file_id = value.get("file_id") if isinstance(value, Mapping) else None
        return kind, str(file_id) if file_id else None
    return (ContentKind.TEXT if "text" in message else ContentKind.OTHER), None


def _from_message(
    update_id: int, message: Mapping[str, Any], bot_username: str | None
) -> Incoming:
    chat = message["chat"]
    text = message.get("text")
    kind, file_id = _content(message)
    command = parse_command(text, bot_username) if kind is ContentKind.TEXT else None
    sender = message.get("from") or {"id": chat["id"], "first_name": chat.get("title", "")}
    contact = message.get("contact") if kind is ContentKind.CONTACT else None
    return Incoming(
        update_id=update_id,
        chat_id=int(chat["id"]),
        chat_kind=ChatKind(chat.get("type", "private")),
        sender=_sender(sender),
        date=_date(message.get("date")),
        message_id=message.get("message_id"),
        text=text if text is not None else message.get("caption"),
        command=command[0] if command else None,
        args=command[1] if command else "",
        content=kind,
        file_id=file_id,
        thread_id=message.get("message_thread_id"),
        is_topic_message=bool(message.get("is_topic_message")),
        reply_to_message_id=(message.get("reply_to_message") or {}).get("message_id"),
        contact_phone=contact.get("phone_number") if contact else None,
        contact_user_id=contact.get("user_id") if contact else None,
    )


def incoming_from_update(
    update: Mapping[str, Any], bot_username: str | None = None
) -> Incoming | None:
    """Converts an update the core handles (a message or a button press); ``None`` for other
    kinds of update."""
    update_id = int(update["update_id"])
    message = update.get("message")
    if message:
        return _from_message(update_id, message, bot_username)
    edited = update.get("edited_message")
    if edited:
        return replace(_from_message(update_id, edited, bot_username), edited=True)
    query = update.get("callback_query")
    if query:
        carrier = query.get("message") or {}
        chat = carrier.get("chat") or {"id": query["from"]["id"], "type": "private"}
        return Incoming(
            update_id=update_id,
            chat_id=int(chat["id"]),
            chat_kind=ChatKind(chat.get("type", "private")),
            sender=_sender(query["from"]),
            date=_date(carrier.get("date")),
            message_id=carrier.get("message_id"),
            callback_id=str(query["id"]),
            callback_data=query.get("data") or "",
            content=ContentKind.CALLBACK,
            thread_id=carrier.get("message_thread_id"),
        )
    return None


def reply_markup(message: Outgoing) -> dict[str, Any] | None:
    """The Bot API ``reply_markup`` of a new message: inline buttons, else a one-time reply
    keyboard asking for the customer's phone number, else the removal of such a keyboard."""
    inline = inline_keyboard(message.buttons)
    if inline is not None:
        return inline
    if message.request_contact:
        return {
            "keyboard": [[{"text": message.request_contact, "request_contact": True}]],
            "one_time_keyboard": True,
            "resize_keyboard": True,
        }
    if message.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def inline_keyboard(reply_buttons: tuple[tuple[OutButton, ...], ...]) -> dict[str, Any] | None:
    """Rendered button rows as a Bot API ``InlineKeyboardMarkup`` dict."""
    if not reply_buttons:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": b.text, "url": b.url}
                if b.url
                else {"text": b.text, "callback_data": b.data}
                for b in row
            ]
            for row in reply_buttons
        ]
    }
