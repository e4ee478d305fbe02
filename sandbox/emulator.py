"""The :class:`Emulator`: a local Telegram Bot API server plus a Python API to act as users.

Typical use in a test::

    async with Emulator() as emu:
        alice = emu.add_user("Alice", username="alice")
        # start the bot with base_url=emu.base_url, then:
        emu.mark()
        await emu.send_text(alice, "/start")
        [reply] = await emu.wait_for("sendMessage", chat_id=alice.id)

Every request is answered by the pipeline in :meth:`Emulator.handle_call` — token, method,
decoding, validation, faults, flood control, handler — and recorded in
:attr:`Emulator.requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .errors import ApiError, too_many_requests
from .faults import Fault, FaultBook
from .formatting import command_entities
from .limits import SENDING_METHODS, FloodControl, FloodLimits
from .methods import CONTENT_KEYS, BotApi, Call
from .server import build_app
from .spec import load_spec
from .state import ChatState, SimChat, SimUser, Topic, now_ts
from .validation import check_known_method, decode_params, validate_params
from .webhook import WebhookSender
from .world import CallbackRecord, World

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST"
_RECENT_IN_ERRORS = 15


@dataclass(frozen=True)
class RecordedRequest:
    """One request the bot made, with the emulator's answer.

    ``params`` are decoded (``"true"`` → ``True``, ``reply_markup`` → dict); an uploaded file
    shows as ``{"upload": <filename>, "size": <bytes>}``. ``at`` is ``time.monotonic()``.
    """

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def chat_id(self) -> int | None:
        """``params["chat_id"]`` as an int (``None`` when absent or a ``@username``)."""
        value = self.params.get("chat_id")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
        return None

    @property
    def ok(self) -> bool:
        """Whether the answer was ``{"ok": true}``."""
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        """The answer's ``result`` (``None`` for errors)."""
        return self.response.get("result")


class Emulator:
    """A Telegram Bot API emulator for one bot token, served on 127.0.0.1.

    ``limits`` sets flood control (``FloodLimits(enabled=False)`` turns it off); with
    ``validate=False`` parameters are decoded but not checked (faster, for benchmarks).
    The bot's user id is the number before the token's colon, as in Telegram.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        limits: FloodLimits | None = None,
        validate: bool = True,
        *,
        bot_username: str = "rapport_bot",
        bot_first_name: str = "Rapport",
    ) -> None:
        self.token = token
        self.validate = validate
        self.limits = limits if limits is not None else FloodLimits()
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else 100_000_001
        self.bot = SimUser(bot_id, bot_first_name, username=bot_username, is_bot=True)
        self.world = World(self.bot)
        self.spec = load_spec()
        self.flood = FloodControl(self.limits)
        self.faults = FaultBook()
        self.webhook = WebhookSender(self.world.updates, self._run_webhook_reply)
        self.api = BotApi(self.world, self.webhook)
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self._mark = 0
        self._record_waiters: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None

    # ================================================================== lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 picks a free port); sets :attr:`base_url`."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        self.api.stopping = False
        app = build_app(self.handle_call, self._file_bytes)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        logger.info("Bot API emulator on %s (bot @%s)", self.base_url, self.bot.username)

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and the server."""
        self.api.stopping = True
        self.world.updates.wake()
        await self.webhook.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        logger.info("Bot API emulator on %s stopped", self.base_url)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ================================================================== request pipeline
    async def handle_call(
        self, token: str, method: str, pairs: list[tuple[str, Any]]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: returns ``(http_status, body)`` and records it."""
        params: dict[str, Any] = {}
        name = method
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            name = check_known_method(self.spec, method)
            params, uploads = decode_params(self.spec, name, pairs)
            handler = self.api.handlers.get(name)
            if handler is None:
                logger.warning("emulator: %s is not implemented", name)
                raise ApiError(404, f"Not Found: method {name} is not emulated by the sandbox")
            if self.validate:
                validate_params(self.spec, name, params)
            await self._apply_faults(name, params)
            self._apply_flood(name, params)
            result = await handler(Call(name, params, uploads))
            status, body = 200, {"ok": True, "result": result}
        except ApiError as err:
            status, body = err.code, err.payload()
        if status >= 400:
            logger.debug("%s -> %s %s", name, status, body.get("description"))
        self._record(RecordedRequest(name, params, status, copy.deepcopy(body), time.monotonic()))
        return status, body

    async def _apply_faults(self, method: str, params: dict[str, Any]) -> None:
        hits = self.faults.take(method, params.get("chat_id"))
        for fault in hits:
            if fault.kind == "delay" and fault.delay > 0:
                await asyncio.sleep(fault.delay)
        for fault in hits:
            error = fault.error()
            if error is not None:
                raise error

    def _apply_flood(self, method: str, params: dict[str, Any]) -> None:
        if method not in SENDING_METHODS or not self.limits.enabled:
            return
        chat_id = params.get("chat_id")
        state = self.world.find_chat(chat_id)
        key = state.chat.id if state is not None else chat_id
        is_group = state is not None and state.chat.is_group
        paid = bool(params.get("allow_paid_broadcast"))
        retry_after = self.flood.admit(key, is_group, paid)
        if retry_after:
            raise too_many_requests(retry_after)

    def _record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        for fut in self._record_waiters:
            if not fut.done():
                fut.set_result(None)
        self._record_waiters.clear()

    async def _run_webhook_reply(self, method: str, pairs: list[tuple[str, Any]]) -> None:
        await self.handle_call(self.token, method, pairs)

    def _file_bytes(self, token: str, path: str) -> bytes | None:
        if token != self.token:
            return None
        stored = self.world.files_by_path.get(path)
        return stored.data if stored is not None else None

    # ================================================================== world set-up
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

    # ================================================================== acting as users
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
        message = state.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {state.chat.id}")
        buttons = [
            button.get("callback_data")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        if data not in buttons:
            raise LookupError(
                f"message {message_id} has no button with callback_data {data!r}: {buttons}"
            )
        instance = hashlib.sha1(f"{state.chat.id}:{self.bot.id}".encode()).hexdigest()
        query: dict[str, Any] = {
            "id": self.world.new_callback_id(),
            "from": user.to_dict(),
            "message": copy.deepcopy(message),
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
        message["edit_date"] = now_ts()
        return self.world.updates.push("edited_message", copy.deepcopy(message))

    # ================================================================== inspection
    async def redeliver(self, update: dict[str, Any]) -> None:
        """Delivers `update` once more with its original ``update_id``, as Telegram does when
        a bot's confirmation was lost (a crash before the next ``getUpdates``)."""
        self.world.updates.requeue(update)

    def mark(self) -> None:
        """From now on, :meth:`wait_for` only looks at newer requests."""
        self._mark = len(self.requests)

    def _matching(
        self,
        method: str,
        chat_id: int | str | None,
        predicate: Callable[[RecordedRequest], bool] | None,
        ok: bool | None,
    ) -> list[RecordedRequest]:
        wanted = method.lower()
        return [
            r
            for r in self.requests[self._mark :]
            if r.method.lower() == wanted
            and (chat_id is None or str(r.params.get("chat_id")) == str(chat_id))
            and (ok is None or r.ok == ok)
            and (predicate is None or predicate(r))
        ]

    async def wait_for(
        self,
        method: str,
        chat_id: int | str | None = None,
        count: int = 1,
        timeout: float = 10.0,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        ok: bool | None = None,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` matching requests arrived after :meth:`mark`; return them all.

        ``ok=True`` only counts successful answers, ``ok=False`` only errors, ``None`` both.
        Raises :class:`asyncio.TimeoutError` listing the recent requests.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self._matching(method, chat_id, predicate, ok)
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_message(method, chat_id, count, found, timeout))
            fut: asyncio.Future[None] = loop.create_future()
            self._record_waiters.add(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                pass
            finally:
                self._record_waiters.discard(fut)

    def _timeout_message(
        self,
        method: str,
        chat_id: int | str | None,
        count: int,
        found: list[RecordedRequest],
        timeout: float,
    ) -> str:
        since = self.requests[self._mark :]
        lines = [
            f"  {r.method} chat_id={r.params.get('chat_id')} -> {r.status} "
            f"{json.dumps(r.params, default=str, ensure_ascii=False)[:160]}"
            for r in since[-_RECENT_IN_ERRORS:]
            if r.method != "getUpdates"
        ]
        polls = sum(1 for r in since if r.method == "getUpdates")
        return (
            f"wait_for({method!r}, chat_id={chat_id}, count={count}) saw {len(found)} matching "
            f"within {timeout}s; {len(since)} requests since mark ({polls} getUpdates). "
            "Recent:\n" + ("\n".join(lines) or "  (none besides getUpdates)")
        )

    def bot_messages(self, chat_id: int, thread_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's content messages in a chat (after edits), oldest first.

        Service messages (``forum_topic_created`` …) are left out; ``thread_id`` keeps only
        one forum topic.
        """
        state = self.world.chats.get(chat_id)
        if state is None:
            return []
        return [
            copy.deepcopy(m)
            for _, m in sorted(state.messages.items())
            if m.get("from", {}).get("id") == self.bot.id
            and any(k in m for k in CONTENT_KEYS)
            and (thread_id is None or m.get("message_thread_id") == thread_id)
        ]

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The ``answerCallbackQuery`` parameters for a pressed button, if answered."""
        record = self.world.callbacks.get(str(query_id))
        return copy.deepcopy(record.answer) if record is not None else None

    @property
    def polling(self) -> bool:
        """Whether a ``getUpdates`` long poll is waiting in the emulator right now."""
        return self.api.polling

    async def wait_until_polling(self, timeout: float = 10.0) -> None:
        """Wait until a ``getUpdates`` long poll is being held (the bot is listening)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.api.polling:
            if loop.time() >= deadline:
                raise TimeoutError(f"no getUpdates long poll arrived within {timeout}s")
            await asyncio.sleep(0.01)

    def pending_updates(self) -> int:
        """Updates not yet confirmed by ``getUpdates`` offset or delivered by webhook."""
        return len(self.world.updates)

    # ================================================================== faults and limits
    def inject_fault(self, fault: Fault) -> None:
        """Activate a :class:`Fault` (see its docstring for matching)."""
        self.faults.add(fault)

    def clear_faults(self) -> None:
        """Deactivate every fault."""
        self.faults.clear()

    def reset_limits(self) -> None:
        """Refill every flood-control bucket."""
        self.flood.reset()
