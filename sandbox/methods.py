"""Handlers of the emulated Bot API methods.

Each handler takes a :class:`Call` (decoded parameters and uploads) and returns the ``result``
of the answer, or raises :class:`~sandbox.errors.ApiError`. Handlers never touch HTTP.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ApiError, bad_request
from .formatting import format_text
from .state import DEFAULT_UPDATE_KINDS, TOPIC_COLORS, ChatState, Topic
from .validation import MAX_CALLBACK_ANSWER, UploadedFile
from .world import World, as_returned

logger = logging.getLogger(__name__)

Handler = Callable[["Call"], Awaitable[Any]]
MAX_POLL_TIMEOUT = 50.0
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
#: Message keys that make up a message's content (what copyMessage copies).
CONTENT_KEYS: tuple[str, ...] = (
    "text", "entities", "photo", "document", "voice", "audio", "video", "video_note",
    "animation", "sticker", "contact", "location", "venue", "caption", "caption_entities",
    "dice", "poll", "link_preview_options",
)  # fmt: skip


@dataclass
class Call:
    """One decoded Bot API call."""

    method: str
    params: dict[str, Any]
    uploads: dict[str, UploadedFile] = field(default_factory=dict)


class Webhook(Protocol):
    """What the handlers need from the webhook sender (see :mod:`sandbox.webhook`)."""

    url: str
    secret_token: str | None
    last_error_date: int | None
    last_error_message: str | None

    def configure(self, url: str, secret_token: str | None) -> None: ...

    def clear(self) -> None: ...


@dataclass
class _PollTicket:
    terminated: bool = False


class BotApi:
    """The method handlers of one emulated bot, by canonical method name (``handlers``)."""

    def __init__(self, world: World, webhook: Webhook) -> None:
        self.world = world
        self.webhook = webhook
        self.stopping = False
        self._active_poll: _PollTicket | None = None
        self._poll_waiters: set[asyncio.Future[None]] = set()
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "answerCallbackQuery": self.answer_callback_query,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "deleteMessage": self.delete_message,
            "sendChatAction": self.send_chat_action,
            "createForumTopic": self.create_forum_topic,
            "editForumTopic": self.edit_forum_topic,
            "closeForumTopic": self.close_forum_topic,
            "reopenForumTopic": self.reopen_forum_topic,
            "deleteForumTopic": self.delete_forum_topic,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getFile": self.get_file,
            "close": self.true,
            "logOut": self.true,
        }

    @property
    def polling(self) -> bool:
        """Whether a ``getUpdates`` request is being held right now."""
        return self._active_poll is not None

    async def wait_until_polling(self, timeout: float) -> None:
        """Returns as soon as a ``getUpdates`` request is held (at once if one is)."""
        if self._active_poll is not None:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poll_waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        finally:
            self._poll_waiters.discard(waiter)

    # ------------------------------------------------------------------ helpers
    async def true(self, call: Call) -> bool:
        """Methods that only answer ``True``."""
        return True

    def _chat(self, call: Call, key: str = "chat_id") -> ChatState:
        return self.world.chat(call.params.get(key))

    @staticmethod
    def _reply_to(params: dict[str, Any]) -> tuple[int | None, bool]:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
            return reply["message_id"], not reply.get("allow_sending_without_reply", False)
        legacy = params.get("reply_to_message_id")
        if isinstance(legacy, int):
            return legacy, not params.get("allow_sending_without_reply", False)
        return None, True

    def _send(self, call: Call, content: dict[str, Any]) -> dict[str, Any]:
        state = self._chat(call)
        reply_to, strict = self._reply_to(call.params)
        return self.world.new_message(
            state,
            self.world.bot,
            content,
            thread_id=call.params.get("message_thread_id"),
            reply_to=reply_to,
            reply_markup=call.params.get("reply_markup"),
            strict_reply=strict,
        )

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if not isinstance(caption, str) or not caption:
            return {}
        text, entities = format_text(
            caption, params.get("parse_mode"), params.get("caption_entities")
        )
        out: dict[str, Any] = {"caption": text}
        if entities:
            out["caption_entities"] = entities
        return out

    def _bot_message(self, call: Call, verb: str) -> tuple[ChatState, dict[str, Any]]:
        if call.params.get("inline_message_id") is not None:
            raise bad_request(f"message to {verb} not found")
        if call.params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        state = self._chat(call)
        message = state.messages.get(call.params["message_id"])
        if message is None:
            raise bad_request(f"message to {verb} not found")
        if message.get("from", {}).get("id") != self.world.bot.id:
            raise bad_request("message can't be edited")
        return state, message

    def _service(self, state: ChatState, thread_id: int, payload: dict[str, Any]) -> None:
        self.world.new_message(state, self.world.bot, payload, thread_id=thread_id)

    # ------------------------------------------------------------------ bot and updates
    async def get_me(self, call: Call) -> dict[str, Any]:
        """The bot's full ``User``."""
        return {
            **self.world.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, call: Call) -> list[dict[str, Any]]:
        """Long polling. A newer ``getUpdates`` terminates an older one with 409."""
        if self.webhook.url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        queue = self.world.updates
        ticket = _PollTicket()
        if self._active_poll is not None:
            self._active_poll.terminated = True
            queue.wake()
        self._active_poll = ticket
        for waiter in self._poll_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._poll_waiters.clear()
        try:
            offset = call.params.get("offset")
            if isinstance(offset, int) and offset != 0:
                queue.confirm(offset)
            allowed = call.params.get("allowed_updates")
            if isinstance(allowed, list):
                queue.allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_KINDS
            limit = call.params.get("limit")
            limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
            timeout = call.params.get("timeout")
            timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + min(max(0.0, timeout), MAX_POLL_TIMEOUT)
            while True:
                if ticket.terminated:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request")
                batch = queue.peek(limit)
                remaining = deadline - loop.time()
                if batch or self.stopping or remaining <= 0:
                    return batch
                await queue.wait(remaining)
        finally:
            if self._active_poll is ticket:
                self._active_poll = None

    async def set_webhook(self, call: Call) -> bool:
        """Start POSTing updates to a loopback ``url`` (an empty url removes the webhook)."""
        url = call.params.get("url") or ""
        if call.params.get("drop_pending_updates"):
            self.world.updates.drop_all()
        if not url:
            self.webhook.clear()
            return True
        if not re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url):
            raise bad_request("bad webhook: the sandbox only delivers to 127.0.0.1/localhost")
        secret = call.params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = call.params.get("allowed_updates")
        if isinstance(allowed, list):
            self.world.updates.allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_KINDS
        self.webhook.configure(url, secret)
        if self._active_poll is not None:
            self._active_poll.terminated = True
            self.world.updates.wake()
        return True

    async def delete_webhook(self, call: Call) -> bool:
        """Remove the webhook; ``drop_pending_updates`` forgets the queue."""
        if call.params.get("drop_pending_updates"):
            self.world.updates.drop_all()
        self.webhook.clear()
        return True

    async def get_webhook_info(self, call: Call) -> dict[str, Any]:
        """``WebhookInfo``."""
        info: dict[str, Any] = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self.webhook.url:
            info["max_connections"] = 40
            info["ip_address"] = "127.0.0.1"
            info["allowed_updates"] = sorted(self.world.updates.allowed)
        if self.webhook.last_error_date:
            info["last_error_date"] = self.webhook.last_error_date
            info["last_error_message"] = self.webhook.last_error_message or ""
        return info

    # ------------------------------------------------------------------ messages
    async def send_message(self, call: Call) -> dict[str, Any]:
        """Send a text message."""
        text, entities = format_text(
            str(call.params.get("text", "")),
            call.params.get("parse_mode"),
            call.params.get("entities"),
        )
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        options = call.params.get("link_preview_options")
        if isinstance(options, dict) and options:
            content["link_preview_options"] = options
        return self._send(call, content)

    async def send_photo(self, call: Call) -> dict[str, Any]:
        """Send a photo (upload, known ``file_id`` or URL); answers three sizes."""
        upload = call.uploads.get("photo")
        stored = self.world.file_for(
            "photos", call.params.get("photo"), upload.data if upload else None, "jpg"
        )
        sizes = []
        for i, side in enumerate((90, 320, 800)):
            small = i < 2
            sizes.append(
                {
                    "file_id": stored.file_id + (f"_{side}" if small else ""),
                    "file_unique_id": stored.file_unique_id + (f"_{side}" if small else ""),
                    "file_size": max(1, len(stored.data) * (i + 1) // 3),
                    "width": side,
                    "height": side * 3 // 4,
                }
            )
        return self._send(call, {"photo": sizes, **self._caption(call.params)})

    async def send_document(self, call: Call) -> dict[str, Any]:
        """Send a document (upload, known ``file_id`` or URL)."""
        upload = call.uploads.get("document")
        stored = self.world.file_for(
            "documents", call.params.get("document"), upload.data if upload else None, "bin"
        )
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": upload.filename if upload else stored.file_path.rsplit("/", 1)[-1],
            "mime_type": (upload.content_type if upload else None) or "application/octet-stream",
            "file_size": len(stored.data),
        }
        return self._send(call, {"document": document, **self._caption(call.params)})

    async def edit_message_text(self, call: Call) -> dict[str, Any]:
        """Edit a bot message's text; without ``reply_markup`` the inline keyboard goes."""
        _, message = self._bot_message(call, "edit")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = format_text(
            str(call.params.get("text", "")),
            call.params.get("parse_mode"),
            call.params.get("entities"),
        )
        markup = call.params.get("reply_markup") or None
        if (
            message.get("text") == text
            and message.get("entities") == entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = text
        self._set(message, "entities", entities)
        self._set(message, "reply_markup", markup)
        message["edit_date"] = self.world.now_ts()
        return as_returned(message)

    async def edit_message_reply_markup(self, call: Call) -> dict[str, Any]:
        """Replace or remove a bot message's inline keyboard."""
        _, message = self._bot_message(call, "edit")
        markup = call.params.get("reply_markup") or None
        if markup == {"inline_keyboard": []}:
            markup = None
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        self._set(message, "reply_markup", markup)
        message["edit_date"] = self.world.now_ts()
        return as_returned(message)

    @staticmethod
    def _set(message: dict[str, Any], key: str, value: Any) -> None:
        if value:
            message[key] = copy.deepcopy(value)
        else:
            message.pop(key, None)

    async def delete_message(self, call: Call) -> bool:
        """Delete a message of the chat."""
        state = self._chat(call)
        if state.messages.pop(call.params.get("message_id"), None) is None:  # type: ignore[arg-type]
            raise bad_request("message to delete not found")
        return True

    async def answer_callback_query(self, call: Call) -> bool:
        """Answer a callback query made by :meth:`~sandbox.Emulator.press_button`."""
        record = self.world.callbacks.get(str(call.params.get("callback_query_id")))
        if record is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = call.params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer = dict(call.params)
        return True

    def _source(self, call: Call, verb: str) -> dict[str, Any]:
        source = self._chat(call, "from_chat_id")
        message = source.messages.get(call.params.get("message_id"))  # type: ignore[arg-type]
        if message is None:
            raise bad_request(f"message to {verb} not found")
        if not any(key in message for key in CONTENT_KEYS):
            raise bad_request(f"message can't be {verb.replace('copy', 'copied')}")
        return message

    async def copy_message(self, call: Call) -> dict[str, Any]:
        """Copy any message without the "forwarded from" header; answers ``MessageId``."""
        source = self._source(call, "copy")
        content = {k: copy.deepcopy(source[k]) for k in CONTENT_KEYS if k in source}
        if "caption" in call.params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption(call.params))
        sent = self._send(call, content)
        return {"message_id": sent["message_id"]}

    async def forward_message(self, call: Call) -> dict[str, Any]:
        """Forward a message; the copy carries ``forward_origin``."""
        source = self._source(call, "forward")
        origin_chat = self._chat(call, "from_chat_id").chat
        content = {k: copy.deepcopy(source[k]) for k in CONTENT_KEYS if k in source}
        if origin_chat.type == "channel":
            origin: dict[str, Any] = {
                "type": "channel", "chat": origin_chat.to_dict(),
                "message_id": source["message_id"], "date": source["date"],
            }  # fmt: skip
        else:
            origin = {"type": "user", "sender_user": source["from"], "date": source["date"]}
        content["forward_origin"] = origin
        return self._send(call, content)

    async def send_chat_action(self, call: Call) -> bool:
        """``typing`` and friends: only checks the chat."""
        self._chat(call)
        return True

    # ------------------------------------------------------------------ forum topics
    async def create_forum_topic(self, call: Call) -> dict[str, Any]:
        """Create a topic; its id is the id of its ``forum_topic_created`` service message."""
        state = self._chat(call)
        if not state.chat.is_forum:
            raise bad_request("the chat is not a forum")
        name = self._topic_name(call.params.get("name"))
        color = call.params.get("icon_color", TOPIC_COLORS[0])
        if color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        emoji = call.params.get("icon_custom_emoji_id") or None
        thread_id = state.allocate_id()
        topic = Topic(thread_id, name, color, emoji)
        state.topics[thread_id] = topic
        created: dict[str, Any] = {"name": name, "icon_color": color}
        if emoji:
            created["icon_custom_emoji_id"] = emoji
        state.messages[thread_id] = {
            "message_id": thread_id,
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "from": self.world.bot.to_dict(),
            "chat": state.chat.to_dict(),
            "date": self.world.now_ts(),
            "forum_topic_created": created,
        }
        return topic.to_dict()

    @staticmethod
    def _topic_name(name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise bad_request("TOPIC_TITLE_INVALID")
        return name

    async def edit_forum_topic(self, call: Call) -> bool:
        """Rename a topic or change its custom emoji."""
        state = self._chat(call)
        topic = self.world.topic(state, call.params.get("message_thread_id"))  # type: ignore[arg-type]
        edited: dict[str, Any] = {}
        if "name" in call.params and call.params["name"] != topic.name:
            topic.name = edited["name"] = self._topic_name(call.params["name"])
        emoji = call.params.get("icon_custom_emoji_id")
        if emoji is not None and emoji != (topic.icon_custom_emoji_id or ""):
            topic.icon_custom_emoji_id = emoji or None
            edited["icon_custom_emoji_id"] = emoji
        if not edited:
            raise bad_request("TOPIC_NOT_MODIFIED")
        self._service(state, topic.message_thread_id, {"forum_topic_edited": edited})
        return True

    async def close_forum_topic(self, call: Call) -> bool:
        """Close a topic (administrators, such as the bot, may still post into it)."""
        return self._toggle_topic(call, closed=True)

    async def reopen_forum_topic(self, call: Call) -> bool:
        """Reopen a closed topic."""
        return self._toggle_topic(call, closed=False)

    def _toggle_topic(self, call: Call, closed: bool) -> bool:
        state = self._chat(call)
        topic = self.world.topic(state, call.params.get("message_thread_id"))  # type: ignore[arg-type]
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service(state, topic.message_thread_id, {kind: {}})
        return True

    async def delete_forum_topic(self, call: Call) -> bool:
        """Delete a topic and its messages; later sends answer "message thread not found"."""
        state = self._chat(call)
        topic = self.world.topic(state, call.params.get("message_thread_id"))  # type: ignore[arg-type]
        topic.deleted = True
        for mid in [m for m, msg in state.messages.items()
                    if msg.get("message_thread_id") == topic.message_thread_id]:  # fmt: skip
            del state.messages[mid]
        return True

    # ------------------------------------------------------------------ commands, chats, files
    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def set_my_commands(self, call: Call) -> bool:
        """Store the command list for a scope and language."""
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be non-empty")
        self.world.commands[self._commands_key(call.params)] = copy.deepcopy(commands)
        return True

    async def get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        """The command list stored for a scope and language."""
        return copy.deepcopy(self.world.commands.get(self._commands_key(call.params), []))

    async def delete_my_commands(self, call: Call) -> bool:
        """Forget the command list of a scope and language."""
        self.world.commands.pop(self._commands_key(call.params), None)
        return True

    async def get_chat(self, call: Call) -> dict[str, Any]:
        """``ChatFullInfo`` with every field aiogram and python-telegram-bot require."""
        chat = self._chat(call).chat
        info: dict[str, Any] = {
            **chat.to_dict(),
            "accent_color_id": abs(chat.id) % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True, "limited_gifts": True, "unique_gifts": True,
                "premium_subscription": True, "gifts_from_channels": True,
            },
        }  # fmt: skip
        if chat.is_group:
            info["permissions"] = {"can_send_messages": True, "can_manage_topics": False}
            info["join_to_send_messages"] = True
        return info

    async def get_chat_member(self, call: Call) -> dict[str, Any]:
        """The bot is an administrator of every group; anybody else a plain member."""
        state = self._chat(call)
        user = self.world.users.get(call.params.get("user_id"))  # type: ignore[arg-type]
        if user is None:
            raise bad_request("user not found")
        if user.id == self.world.bot.id and state.chat.is_group:
            rights = dict.fromkeys(
                ("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                 "can_restrict_members", "can_promote_members", "can_change_info",
                 "can_invite_users", "can_post_stories", "can_edit_stories",
                 "can_delete_stories", "can_pin_messages", "can_manage_topics"),
                True,
            )  # fmt: skip
            rights["can_promote_members"] = False
            return {"status": "administrator", "user": user.to_dict(), "can_be_edited": False,
                    "is_anonymous": False, **rights}  # fmt: skip
        status = "member" if user.id in state.members else "left"
        return {"status": status, "user": user.to_dict()}

    async def get_file(self, call: Call) -> dict[str, Any]:
        """``File`` for a known ``file_id`` (download it from ``/file/bot<token>/<path>``)."""
        raw = str(call.params.get("file_id", ""))
        stored = self.world.files.get(raw) or self.world.files.get(raw.rsplit("_", 1)[0])
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.to_dict()
