"""What crosses the boundary between a Telegram adapter and the core.

An adapter turns a framework update into an :class:`Incoming`; handlers answer with
:class:`Reply` objects (a template key, its parameters and buttons); the core renders them
into :class:`Outgoing` messages in the customer's locale, which an adapter's messenger sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class ContentKind(StrEnum):
    """What a message carries; `OTHER` covers anything the core has no use for yet."""

    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    VIDEO = "video"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    CALLBACK = "callback"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Sender:
    """The Telegram user behind an update."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update, as the core sees it, whichever framework received it.

    `command` is the bot command without the slash and without `@botname` (``"start"``),
    `args` what followed it. A button press has `callback_id` and `callback_data`, and
    `message_id` is the id of the message that carried the button.
    """

    update_id: int
    chat_id: int
    chat_kind: ChatKind
    sender: Sender
    date: datetime
    message_id: int | None = None
    text: str | None = None
    command: str | None = None
    args: str = ""
    callback_id: str | None = None
    callback_data: str | None = None
    content: ContentKind = ContentKind.TEXT
    file_id: str | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    reply_to_message_id: int | None = None
    edited: bool = False
    """An edit of an earlier message (Telegram's ``edited_message``), not a new one."""
    contact_phone: str | None = None
    contact_user_id: int | None = None

    @property
    def is_callback(self) -> bool:
        return self.callback_id is not None


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: its label is a template key, its payload fits Telegram's 64 bytes.
    With `url` it opens that address instead (its `data` is then empty)."""

    key: str
    data: str
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    url: str = ""

    def __post_init__(self) -> None:
        if len(self.data.encode()) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler wants said: a template key with parameters and optional buttons.

    By default it goes to the chat the update came from as a new message. `chat_id` sends it
    elsewhere; `edit_message_id` replaces the text (and buttons) of a message the bot sent.
    `locale` forces a locale (staff messages); otherwise the recipient customer's locale is used.
    `request_contact_key` adds a one-time reply keyboard with one button (its label a template
    key) that shares the customer's phone number; `remove_keyboard` takes such a keyboard away.
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    buttons: tuple[tuple[Button, ...], ...] = ()
    chat_id: int | None = None
    edit_message_id: int | None = None
    locale: str | None = None
    about_customer_id: int | None = None
    topic: TopicRef | None = None
    request_contact_key: str | None = None
    remove_keyboard: bool = False


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A ticket's forum topic in the staff group. Delivery finds its thread, creating the
    topic with `title` and `icon_color` when it does not exist yet or was deleted."""

    ticket_id: int
    title: str
    icon_color: int


@dataclass(frozen=True, slots=True)
class Relay:
    """Copy a message someone sent (any content: text, photo, voice, sticker…) into another
    chat without the "forwarded from" header — the agent desk's relay. `caption_key`
    optionally replaces a media message's caption (rendered in `locale`); `about_customer_id`
    records whose conversation it belongs to, so a reply to the copy finds its way back."""

    from_chat_id: int
    message_id: int
    chat_id: int
    caption_key: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    locale: str | None = None
    about_customer_id: int | None = None
    topic: TopicRef | None = None


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """Stops the spinner on a pressed button; `key` optionally shows a short notice."""

    callback_id: str
    key: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class OutButton:
    """A rendered inline button: it sends `data` back when pressed, or, with `url`, opens
    that address instead (a campaign's link buttons; `data` is then unused)."""

    text: str
    data: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered message, ready for a messenger: HTML text and inline keyboard rows. With
    `copy_message_id` it is a copy of that message from `copy_from_chat_id` instead, and
    `text`, if not empty, becomes the copy's caption. With `rename_thread_id` it renames that
    forum topic of `chat_id` to `text` (plain text, at most 128 characters) instead."""

    chat_id: int
    text: str
    buttons: tuple[tuple[OutButton, ...], ...] = ()
    edit_message_id: int | None = None
    template_key: str = ""
    copy_from_chat_id: int | None = None
    copy_message_id: int | None = None
    about_customer_id: int | None = None
    topic: TopicRef | None = None
    thread_id: int | None = None
    request_contact: str | None = None
    remove_keyboard: bool = False
    rename_thread_id: int | None = None
    delete_message_id: int | None = None
    """Set: delete that message of the bot's in `chat_id` instead (`text` is ignored)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """What Telegram answered for a delivered message."""

    chat_id: int
    message_id: int
