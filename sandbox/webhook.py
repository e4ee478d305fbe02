"""Webhook delivery: POST each pending update, in order, to the bot's loopback URL.

Like Telegram it sends ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set, keeps an
update until the receiver answers 2xx (retrying with back-off) and executes a method the
receiver puts in its answer body (``{"method": "sendMessage", ...}``, JSON, form or multipart).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from .clock import Clock, RealClock
from .state import UpdateQueue

logger = logging.getLogger(__name__)

#: ``(method, pairs)`` → runs the method through the emulator as if the bot had called it.
ReplyRunner = Callable[[str, list[tuple[str, Any]]], Awaitable[None]]


class WebhookSender:
    """Delivers updates from ``queue`` while a URL is configured."""

    def __init__(
        self,
        queue: UpdateQueue,
        run_reply: ReplyRunner,
        *,
        max_attempts: int = 50,
        retry_delay: float = 0.1,
        max_retry_delay: float = 2.0,
        request_timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.queue = queue
        self.clock: Clock = clock if clock is not None else RealClock()
        self.run_reply = run_reply
        self.url = ""
        self.secret_token: str | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.deliveries: int = 0
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.request_timeout = request_timeout
        self._task: asyncio.Task[None] | None = None

    def configure(self, url: str, secret_token: str | None) -> None:
        """Set the URL and start delivering."""
        self.url = url
        self.secret_token = secret_token
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook")
        self.queue.wake()

    def clear(self) -> None:
        """Stop delivering (pending updates stay for ``getUpdates``)."""
        self.url = ""
        self.secret_token = None
        self.queue.wake()

    async def stop(self) -> None:
        """Cancel the delivery task."""
        self.url = ""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            attempts = 0
            while self.url:
                batch = self.queue.peek(1)
                if not batch:
                    await self.queue.wait(1.0)
                    continue
                update = batch[0]
                if await self._deliver(session, update):
                    self.queue.pop_first(update["update_id"])
                    attempts = 0
                    continue
                attempts += 1
                if attempts >= self.max_attempts:
                    logger.warning("webhook: dropping update %s after %d attempts",
                                   update["update_id"], attempts)  # fmt: skip
                    self.queue.pop_first(update["update_id"])
                    attempts = 0
                    continue
                delay = min(self.max_retry_delay, self.retry_delay * 2 ** (attempts - 1))
                await self.clock.sleep(delay)

    async def _deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> bool:
        headers = {"Content-Type": "application/json"}
        if self.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret_token
        url = self.url
        try:
            async with session.post(url, data=json.dumps(update), headers=headers) as resp:
                status = resp.status
                reply = await self._read_reply(resp) if 200 <= status < 300 else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._error(f"Connection failed: {type(exc).__name__}")
            return False
        if not 200 <= status < 300:
            self._error(f"Wrong response from the webhook: {status}")
            return False
        self.deliveries += 1
        if reply is not None:
            method, pairs = reply
            try:
                await self.run_reply(method, pairs)
            except Exception:  # a bad reply must not stop delivery
                logger.exception("webhook: the reply method %s failed", method)
        return True

    def _error(self, message: str) -> None:
        logger.info("webhook %s: %s", self.url, message)
        self.last_error_date = int(self.clock.now().timestamp())
        self.last_error_message = message

    @staticmethod
    async def _read_reply(
        resp: aiohttp.ClientResponse,
    ) -> tuple[str, list[tuple[str, Any]]] | None:
        ctype = resp.content_type
        pairs: list[tuple[str, Any]] = []
        if ctype == "application/json":
            try:
                body = await resp.json()
            except (ValueError, aiohttp.ContentTypeError):
                return None
            if isinstance(body, dict):
                pairs = list(body.items())
        elif ctype == "application/x-www-form-urlencoded":
            pairs = parse_qsl(await resp.text(), keep_blank_values=True)
        elif ctype.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(resp)
            async for part in reader:
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    pairs.append((part.name, await part.text()))
        else:
            return None
        method = next((v for k, v in pairs if k == "method"), None)
        if not isinstance(method, str) or not method:
            return None
        return method, [(k, v) for k, v in pairs if k != "method"]
