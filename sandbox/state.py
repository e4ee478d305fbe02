"""The emulated world: users, chats, their messages and forum topics, and the update queue.

Message ids are per chat and shared by everybody writing in that chat, as in Telegram. A forum
topic's ``message_thread_id`` is the id of its ``forum_topic_created`` service message.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

#: The six colours Telegram allows for ``createForumTopic(icon_color=…)``.
TOPIC_COLORS: tuple[int, ...] = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)

#: Update kinds delivered when ``allowed_updates`` was never set (Telegram's default).
DEFAULT_UPDATE_KINDS: frozenset[str] = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
        "inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query", "poll",
        "poll_answer", "my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "purchased_paid_media",
    }
)  # fmt: skip


def unique_id(*parts: object) -> str:
    """A stable, plausible ``file_unique_id``-like token."""
    digest = hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()
    return "AQAD" + digest[:12]


def file_id(*parts: object) -> str:
    """A stable, plausible ``file_id``-like token."""
    digest = hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()
    return "BQACAgIAAxkBAA" + digest[:40]


@dataclass
class SimUser:
    """A Telegram user (or the bot itself, ``is_bot=True``)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``User`` object as it appears in messages and updates."""
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @property
    def full_name(self) -> str:
        """First and last name joined by a space."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass
class SimChat:
    """A chat: ``private`` (id == the user's id), ``group``, ``supergroup`` or ``channel``."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    is_forum: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``Chat`` object as it appears in messages."""
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.is_forum:
            out["is_forum"] = True
        return out

    @property
    def is_group(self) -> bool:
        """Group or supergroup (20 messages per minute apply)."""
        return self.type in ("group", "supergroup")


@dataclass
class Topic:
    """A forum topic of a supergroup."""

    message_thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``ForumTopic`` object returned by ``createForumTopic``."""
        out: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            out["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return out


@dataclass
class ChatState:
    """One chat with its messages (current state, after edits) and topics."""

    chat: SimChat
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    members: set[int] = field(default_factory=set)
    next_message_id: int = 1

    def allocate_id(self) -> int:
        """The next message id in this chat."""
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


class UpdateQueue:
    """Pending updates for ``getUpdates`` / the webhook, with long-poll wake-ups."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._ids = itertools.count(700_000_001)
        self._waiters: set[asyncio.Future[None]] = set()
        self.allowed: frozenset[str] = DEFAULT_UPDATE_KINDS

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue ``{"update_id": …, kind: payload}`` and wake waiting long polls."""
        update = {"update_id": next(self._ids), kind: payload}
        self._pending.append(update)
        self.wake()
        return update

    def requeue(self, update: dict[str, Any]) -> None:
        """Queue an already delivered update again, same ``update_id`` (a lost confirmation,
        or Telegram retrying a webhook): the bot must notice the repeat."""
        self._pending.append(copy.deepcopy(update))
        self.wake()

    def wake(self) -> None:
        """Release every waiting long poll (new update, stop, webhook change)."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    def confirm(self, offset: int) -> None:
        """Drop updates below ``offset``; a negative offset keeps only the last ``-offset``."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def drop_all(self) -> None:
        """Forget every pending update (``drop_pending_updates``)."""
        self._pending.clear()

    def _filter_allowed(self) -> None:
        self._pending = [u for u in self._pending if self.kind(u) in self.allowed]

    @staticmethod
    def kind(update: dict[str, Any]) -> str:
        """``message``, ``callback_query`` … of an update dict."""
        return next(k for k in update if k != "update_id")

    def peek(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` pending updates, oldest first (not removed)."""
        self._filter_allowed()
        return [copy.deepcopy(u) for u in self._pending[:limit]]

    def pop_first(self, update_id: int) -> None:
        """Remove the update ``update_id`` (delivered by webhook)."""
        self._pending = [u for u in self._pending if u["update_id"] != update_id]

    def __len__(self) -> int:
        return len(self._pending)

    async def wait(self, timeout: float) -> None:
        """Sleep until :meth:`wake` or ``timeout`` seconds pass."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)
