"""The :class:`World`: everything the emulated Telegram knows, and the message factory."""

from __future__ import annotations

import copy
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from .clock import Clock, RealClock
from .errors import CHAT_NOT_FOUND, THREAD_NOT_FOUND, bad_request
from .state import ChatState, SimChat, SimUser, Topic, UpdateQueue, file_id, unique_id

logger = logging.getLogger(__name__)


@dataclass
class StoredFile:
    """A file the bot can ``getFile`` and download from ``/file/bot<token>/<file_path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes

    def to_dict(self) -> dict[str, Any]:
        """The ``File`` object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class CallbackRecord:
    """A callback query created by :meth:`~sandbox.Emulator.press_button`."""

    query: dict[str, Any]
    answered: bool = False
    answer: dict[str, Any] | None = None


def as_returned(message: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored message as Telegram returns it to the bot.

    The emulator keeps whatever keyboard the bot sent, as the user sees it; but a ``Message``
    carries only an inline keyboard. A reply keyboard or its removal (``keyboard``,
    ``remove_keyboard``, ``force_reply``) is never echoed back, and aiogram refuses a message
    that has one.
    """
    returned = copy.deepcopy(message)
    markup = returned.get("reply_markup")
    if markup is not None and not (isinstance(markup, dict) and "inline_keyboard" in markup):
        del returned["reply_markup"]
    return returned


class World:
    """Users, chats, files and pending updates of one emulated bot."""

    def __init__(self, bot: SimUser, clock: Clock | None = None) -> None:
        self.bot = bot
        self.clock: Clock = clock if clock is not None else RealClock()
        self.users: dict[int, SimUser] = {bot.id: bot}
        self.chats: dict[int, ChatState] = {}
        self.updates = UpdateQueue()
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._user_ids = itertools.count(5_000_001)
        self._group_ids = itertools.count(1_000_000_001)
        self._callback_ids = itertools.count(4_000_000_000_001)
        self._file_seq = itertools.count(1)

    def now_ts(self) -> int:
        """Unix time in whole seconds on the emulator's clock, as in ``Message.date``."""
        return int(self.clock.now().timestamp())

    # ----------------------------------------------------------------- users and chats
    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> SimUser:
        """Create a user and the private chat with the bot (chat id == user id)."""
        uid = user_id if user_id is not None else next(self._user_ids)
        while user_id is None and uid in self.users:
            uid = next(self._user_ids)
        user = SimUser(uid, first_name, last_name, username, language_code)
        self.users[uid] = user
        chat = SimChat(uid, "private", first_name=first_name, last_name=last_name,
                       username=username)  # fmt: skip
        self.chats[uid] = ChatState(chat, members={uid, self.bot.id})
        return user

    def add_group(self, title: str, forum: bool, supergroup: bool = True) -> SimChat:
        """Create a (super)group with the bot as an administrator."""
        n = next(self._group_ids)
        chat_id = -(1_000_000_000_000 + n) if supergroup else -n
        chat = SimChat(chat_id, "supergroup" if supergroup else "group", title=title,
                       is_forum=forum)  # fmt: skip
        # message 1 is the group's creation; in a forum it is also the General topic
        self.chats[chat_id] = ChatState(chat, members={self.bot.id}, next_message_id=2)
        return chat

    def chat(self, chat_id: Any) -> ChatState:
        """The chat for an id or ``@username``; 400 ``chat not found`` otherwise."""
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            state = self.chats.get(chat_id)
            if state is not None:
                return state
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for state in self.chats.values():
                if state.chat.username and state.chat.username.lower() == chat_id[1:].lower():
                    return state
        raise bad_request(CHAT_NOT_FOUND)

    def find_chat(self, chat_id: Any) -> ChatState | None:
        """Like :meth:`chat` but ``None`` when unknown."""
        try:
            return self.chat(chat_id)
        except Exception:
            return None

    # ----------------------------------------------------------------- files
    def store_file(self, kind: str, data: bytes, extension: str) -> StoredFile:
        """Register file bytes under a fresh ``file_id``."""
        seq = next(self._file_seq)
        stored = StoredFile(
            file_id(kind, seq), unique_id(kind, seq), f"{kind}/file_{seq}.{extension}", data
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def file_for(self, kind: str, value: Any, data: bytes | None, extension: str) -> StoredFile:
        """The file a send refers to: an upload, a known ``file_id`` or anything else (URL)."""
        if data is None and isinstance(value, str) and value in self.files:
            return self.files[value]
        return self.store_file(kind, data if data is not None else b"\x00" * 1024, extension)

    # ----------------------------------------------------------------- messages
    def thread_fields(self, state: ChatState, thread_id: int | None) -> dict[str, Any]:
        """``message_thread_id``/``is_topic_message`` for a message sent into ``thread_id``."""
        if thread_id is None:
            return {}
        if state.chat.is_forum:
            topic = state.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise bad_request(THREAD_NOT_FOUND)
            return {"message_thread_id": thread_id, "is_topic_message": True}
        if state.chat.is_group and thread_id in state.messages:
            return {"message_thread_id": thread_id}
        raise bad_request(THREAD_NOT_FOUND)

    def new_message(
        self,
        state: ChatState,
        sender: SimUser,
        content: dict[str, Any],
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        reply_markup: dict[str, Any] | None = None,
        strict_reply: bool = True,
    ) -> dict[str, Any]:
        """Create, store and return (a copy of) a new message in ``state``'s chat."""
        thread = self.thread_fields(state, thread_id)
        replied: dict[str, Any] | None = None
        if reply_to is not None:
            target = state.messages.get(reply_to)
            if target is None and strict_reply:
                raise bad_request("message to be replied not found")
            replied = target
        elif thread.get("is_topic_message"):
            replied = state.messages.get(int(thread["message_thread_id"]))
        message: dict[str, Any] = {
            "message_id": state.allocate_id(),
            "from": sender.to_dict(),
            "chat": state.chat.to_dict(),
            "date": self.now_ts(),
            **thread,
        }
        if replied is not None:
            message["reply_to_message"] = {
                k: v for k, v in as_returned(replied).items() if k != "reply_to_message"
            }
        message.update(copy.deepcopy(content))
        if reply_markup:
            message["reply_markup"] = copy.deepcopy(reply_markup)
        state.messages[message["message_id"]] = message
        state.members.add(sender.id)
        return as_returned(message)

    def topic(self, state: ChatState, thread_id: int) -> Topic:
        """A live topic or 400 ``TOPIC_ID_INVALID``."""
        if not state.chat.is_forum:
            raise bad_request("the chat is not a forum")
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def new_callback_id(self) -> str:
        """A fresh callback query id (numeric string, as Telegram's)."""
        return str(next(self._callback_ids))
