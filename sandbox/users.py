"""The simulated people: setting up users, groups and topics, and acting as those users.

This is the half of the emulator a test drives from Python: it writes straight into the
:class:`~sandbox.world.World` and queues the updates Telegram would send the bot. It makes no
HTTP request and answers none; the server half (:class:`~sandbox.emulator.Emulator`) does
that, and also inherits these methods so a test needs only one object.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from .errors import ApiError
from .formatting import command_entities
from .state import ChatState, SimChat, SimUser, Topic
from .world import CallbackRecord, World, as_returned


class SimulatedUsers:
    """Acts as Telegram's users (and the admins who set chats up) in one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world

    # ------------------------------------------------------------------ setting the scene
    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> SimUser:
        """A new user and their private chat with the bot (chat id == user id)."""
        return self.world.add_user(first_name, last_name, username, language_code, user_id)

    def add_forum_group(self, title: str) -> SimChat:
        """A forum supergroup (id ``-100…``) where the bot is an admin who manages topics."""
        return self.world.add_group(title, forum=True)

    def add_group(self, title: str, *, supergroup: bool = True) -> SimChat:
        """A plain (super)group without topics."""
        return self.world.add_group(title, forum=False, supergroup=supergroup)

    def add_member(self, chat: SimChat, user: SimUser) -> None:
        """Record ``user`` as a member of ``chat`` (bookkeeping for ``getChatMember``)."""
        self.world.chat(chat.id).members.add(user.id)

    def topic(self, chat_id: int, thread_id: int) -> Topic | None:
        """The forum topic ``thread_id`` of a chat, deleted or not, if it ever existed."""
        state = self.world.chats.get(chat_id)
        return state.topics.get(thread_id) if state is not None else None

    def topics(self, chat_id: int) -> list[Topic]:
        """Live (not deleted) topics of a forum, in creation order."""
        state = self.world.chats.get(chat_id)
        if state is None:
            return []
        return [t for _, t in sorted(state.topics.items()) if not t.deleted]

    def delete_forum_topic(self, chat: SimChat | int, thread_id: int) -> None:
        """Delete a topic as a human admin would: later sends get "message thread not found"."""
        state = self._state(chat)
        topic = state.topics.get(thread_id)
        if topic is None:
            raise LookupError(f"no topic {thread_id} in chat {state.chat.id}")
        topic.deleted = True

    # ------------------------------------------------------------------ acting as users
    def _state(self, chat: SimChat | int) -> ChatState:
        chat_id = chat.id if isinstance(chat, SimChat) else chat
        state = self.world.chats.get(chat_id)
        if state is None:
            raise LookupError(f"unknown chat {chat_id}")
        return state

    def _user_chat(self, user: SimUser, chat: SimChat | int | None) -> ChatState:
        return self._state(chat if chat is not None else user.id)

    async def send_text(
        self,
        user: SimUser,
        text: str,
        chat: SimChat | int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """``user`` writes ``text`` (private chat by default); returns the queued update."""
        return await self.send_message(user, chat=chat, thread_id=thread_id, text=text)

    async def send_message(
        self,
        user: SimUser,
        chat: SimChat | int | None = None,
        thread_id: int | None = None,
        text: str | None = None,
        photo: bool = False,
        document: bool = False,
        voice: bool = False,
        contact: tuple[str, str] | None = None,
        location: tuple[float, float] | None = None,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """``user`` sends a message of any supported kind; returns the ``message`` update.

        ``contact`` is ``(phone_number, first_name)``, ``location`` ``(latitude, longitude)``.
        Media get plausible ``file_id``/``file_unique_id`` values that ``getFile`` knows.
        """
        state = self._user_chat(user, chat)
        content = self._user_content(user, text, photo, document, voice, contact, location)
        if caption and any(k in content for k in ("photo", "document", "voice")):
            content["caption"] = caption
        try:
            message = self.world.new_message(
                state, user, content, thread_id=thread_id, reply_to=reply_to_message_id
            )
        except ApiError as err:
            raise LookupError(err.description) from err
        return self.world.updates.push("message", message)

    def _user_content(
        self,
        user: SimUser,
        text: str | None,
        photo: bool,
        document: bool,
        voice: bool,
        contact: tuple[str, str] | None,
        location: tuple[float, float] | None,
    ) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if text is not None:
            content["text"] = text
            entities = command_entities(text)
            if entities:
                content["entities"] = entities
        if photo:
            stored = self.world.store_file("photos", b"\xff\xd8\xff\xe0fake-jpeg" * 64, "jpg")
            content["photo"] = [
                {
                    "file_id": stored.file_id + (f"_{w}" if w < 1280 else ""),
                    "file_unique_id": stored.file_unique_id + (f"_{w}" if w < 1280 else ""),
                    "file_size": len(stored.data) * (i + 1) // 3,
                    "width": w,
                    "height": w * 3 // 4,
                }
                for i, w in enumerate((90, 320, 1280))
            ]
        if document:
            stored = self.world.store_file("documents", b"%PDF-1.4 fake" * 64, "pdf")
            content["document"] = {
                "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_name": "document.pdf", "mime_type": "application/pdf",
                "file_size": len(stored.data),
            }  # fmt: skip
        if voice:
            stored = self.world.store_file("voice", b"OggS fake-opus" * 64, "oga")
            content["voice"] = {
                "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "duration": 3, "mime_type": "audio/ogg", "file_size": len(stored.data),
            }  # fmt: skip
        if contact is not None:
            phone, first_name = contact
            content["contact"] = {
                "phone_number": phone, "first_name": first_name, "user_id": user.id,
            }  # fmt: skip
        if location is not None:
            content["location"] = {"latitude": location[0], "longitude": location[1]}
        if not content:
            raise ValueError("send_message needs text or some content")
        return content

    async def press_button(
        self, user: SimUser, message_id: int, data: str, chat: SimChat | int | None = None
    ) -> dict[str, Any]:
        """``user`` presses the inline button with ``callback_data == data``.

        Raises :class:`LookupError` if the message or the button does not exist (a real
        user cannot press it either).
        """
        state = self._user_chat(user, chat)
        message = self._bot_message(state, message_id)
        buttons = [
            button.get("callback_data")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        if data not in buttons:
            raise LookupError(
                f"message {message_id} has no button with callback_data {data!r}: {buttons}"
            )
        return self._callback(user, state, message, data)

    async def press_forged(
        self, user: SimUser, message_id: int, data: str, chat: SimChat | int | None = None
    ) -> dict[str, Any]:
        """``user`` sends a callback query with ``data`` of their choosing on one of the bot's
        messages, whatever its buttons carry — a tampered client. A bot must trust nothing in
        callback data: this is how tests prove it.

        Raises :class:`LookupError` if the message does not exist."""
        state = self._user_chat(user, chat)
        return self._callback(user, state, self._bot_message(state, message_id), data)

    @staticmethod
    def _bot_message(state: ChatState, message_id: int) -> dict[str, Any]:
        message = state.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {state.chat.id}")
        return message

    def _callback(
        self, user: SimUser, state: ChatState, message: dict[str, Any], data: str
    ) -> dict[str, Any]:
        instance = hashlib.sha1(f"{state.chat.id}:{self.world.bot.id}".encode()).hexdigest()
        query: dict[str, Any] = {
            "id": self.world.new_callback_id(),
            "from": user.to_dict(),
            "message": as_returned(message),
            "chat_instance": str(int(instance[:15], 16)),
            "data": data,
        }
        self.world.callbacks[query["id"]] = CallbackRecord(query)
        return self.world.updates.push("callback_query", query)

    async def edit_user_message(
        self, user: SimUser, message_id: int, new_text: str, chat: SimChat | int | None = None
    ) -> dict[str, Any]:
        """``user`` edits their text message; returns the ``edited_message`` update."""
        state = self._user_chat(user, chat)
        message = state.messages.get(message_id)
        if message is None or message.get("from", {}).get("id") != user.id:
            raise LookupError(f"user {user.id} has no message {message_id} in {state.chat.id}")
        message["text"] = new_text
        entities = command_entities(new_text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        message["edit_date"] = self.world.now_ts()
        return self.world.updates.push("edited_message", copy.deepcopy(message))

    async def redeliver(self, update: dict[str, Any]) -> None:
        """Delivers `update` once more with its original ``update_id``, as Telegram does when
        a bot's confirmation was lost (a crash before the next ``getUpdates``)."""
        self.world.updates.requeue(update)
