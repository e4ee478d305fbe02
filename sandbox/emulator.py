"""The :class:`Emulator`: a local Telegram Bot API server, and what a test sees of it.

Typical use in a test::

    async with Emulator() as emu:
        alice = emu.add_user("Alice", username="alice")
        # start the bot with base_url=emu.base_url, then:
        emu.mark()
        await emu.send_text(alice, "/start")
        [reply] = await emu.wait_for("sendMessage", chat_id=alice.id)

Every request is answered by the pipeline in :meth:`Emulator.handle_call` — token, method,
decoding, validation, faults, flood control, handler — and recorded in
:attr:`Emulator.requests`. Acting as users (``add_user``, ``send_text``, ``press_button`` …)
is the other half, :class:`~sandbox.users.SimulatedUsers`, which the emulator inherits.

Give the emulator a :class:`~sandbox.clock.VirtualClock` (and the bot the same one) and flood
control, message dates, injected delays and webhook retries all run on it: limits are proven
without waiting them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .clock import Clock, RealClock
from .errors import ApiError, ConnectionDropped, too_many_requests
from .faults import ANSWER_FAULTS, Fault, FaultBook
from .limits import SENDING_METHODS, FloodControl, FloodLimits
from .methods import CONTENT_KEYS, BotApi, Call
from .server import build_app
from .spec import load_spec
from .state import SimUser
from .users import SimulatedUsers
from .validation import check_known_method, decode_params, validate_params
from .webhook import WebhookSender
from .world import World

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST"
_RECENT_IN_ERRORS = 15


@dataclass(frozen=True)
class RecordedRequest:
    """One request the bot made, with the emulator's answer.

    ``params`` are decoded (``"true"`` → ``True``, ``reply_markup`` → dict); an uploaded file
    shows as ``{"upload": <filename>, "size": <bytes>}``. ``at`` is when the request was
    admitted, in seconds on the emulator's clock (``time.monotonic()`` unless a test gave the
    emulator a virtual clock).

    ``fault`` names the answer fault that hit the request, if any (``"slow"``,
    ``"drop_before"``, ``"drop_after"``; see :class:`~sandbox.faults.Fault`): the client did not
    see ``response`` in time, or at all. A ``drop_before`` request was never applied and is
    recorded with ``status`` 0; ``slow`` and ``drop_after`` ones were, and show the answer the
    client missed.
    """

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float
    fault: str | None = None

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


HOLD_POLL_SECONDS = 0.01
"""How often a held (slow) answer looks whether the client has given up."""


async def _hold(seconds: float, client_gone: Callable[[], bool] | None) -> None:
    """Waits `seconds` of real time, or less once `client_gone` says the client left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if client_gone is not None and client_gone():
            return
        await asyncio.sleep(min(HOLD_POLL_SECONDS, left))


class Emulator(SimulatedUsers):
    """A Telegram Bot API emulator for one bot token, served on 127.0.0.1.

    ``limits`` sets flood control (``FloodLimits(enabled=False)`` turns it off); with
    ``validate=False`` parameters are decoded but not checked (faster, for benchmarks).
    ``clock`` is the time flood control and message dates go by (the real one by default).
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
        clock: Clock | None = None,
    ) -> None:
        self.token = token
        self.clock: Clock = clock if clock is not None else RealClock()
        self.validate = validate
        self.limits = limits if limits is not None else FloodLimits()
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else 100_000_001
        self.bot = SimUser(bot_id, bot_first_name, username=bot_username, is_bot=True)
        super().__init__(World(self.bot, self.clock))
        self.spec = load_spec()
        self.flood = FloodControl(self.limits, clock=self.clock.monotonic)
        self.faults = FaultBook()
        self.webhook = WebhookSender(self.world.updates, self._run_webhook_reply, clock=self.clock)
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
        self,
        token: str,
        method: str,
        pairs: list[tuple[str, Any]],
        client_gone: Callable[[], bool] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: returns ``(http_status, body)`` and records it.

        An injected answer fault raises :class:`~sandbox.errors.ConnectionDropped` (the HTTP
        layer then closes the connection without an answer) or holds the answer back (a slow
        answer ends early once `client_gone` says the client closed the connection)."""
        params: dict[str, Any] = {}
        name = method
        at = self.clock.monotonic()
        answer: Fault | None = None
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
            answer = await self._apply_faults(name, params)
            if answer is not None and answer.kind == "drop_before":
                self._record(RecordedRequest(name, params, 0, {}, at, "drop_before"))
                raise ConnectionDropped(name)
            at = self.clock.monotonic()
            self._apply_flood(name, params)
            result = await handler(Call(name, params, uploads))
            status, body = 200, {"ok": True, "result": result}
        except ApiError as err:
            status, body = err.code, err.payload()
        if status >= 400:
            logger.debug("%s -> %s %s", name, status, body.get("description"))
        kind = answer.kind if answer is not None else None
        self._record(RecordedRequest(name, params, status, copy.deepcopy(body), at, kind))
        if answer is not None and answer.kind == "drop_after":
            raise ConnectionDropped(name)
        if answer is not None and answer.kind == "slow":
            await _hold(answer.delay, client_gone)
        return status, body

    async def _apply_faults(self, method: str, params: dict[str, Any]) -> Fault | None:
        """Sleeps injected delays and raises an injected error; returns the answer fault
        that hit the request, if any."""
        hits = self.faults.take(method, params.get("chat_id"))
        for fault in hits:
            if fault.kind == "delay" and fault.delay > 0:
                await self.clock.sleep(fault.delay)
        for fault in hits:
            error = fault.error()
            if error is not None:
                raise error
        return next((f for f in hits if f.kind in ANSWER_FAULTS), None)

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
        with contextlib.suppress(ConnectionDropped):  # a reply in a webhook answer: no answer
            await self.handle_call(self.token, method, pairs)

    def _file_bytes(self, token: str, path: str) -> bytes | None:
        if token != self.token:
            return None
        stored = self.world.files_by_path.get(path)
        return stored.data if stored is not None else None

    # ================================================================== inspection
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
        try:
            await self.api.wait_until_polling(timeout)
        except TimeoutError:
            raise TimeoutError(f"no getUpdates long poll arrived within {timeout}s") from None

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
