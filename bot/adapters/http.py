"""The HTTP client both adapters reach the Bot API with: one aiohttp pool, JSON bodies.

Both frameworks' own clients cost more CPU per request than a send at Telegram's paid rate
(1000 a second) can afford: aiogram posts every request as multipart form data, and
python-telegram-bot's httpx/httpcore pool scans every connection and every queued request
each time one changes state (quadratic in the requests in flight). So each adapter plugs into
its framework's documented extension point (aiogram's ``BaseSession``, python-telegram-bot's
``BaseRequest``) a session built on what this module gives:

- :func:`client_session` (python-telegram-bot's; aiogram's session keeps aiogram's own
  connector, given the same number): one ``aiohttp.ClientSession`` over one connector with
  ``connections`` keep-alive connections (from the settings, sized for the bot-wide rate),
  no proxy from the environment (a local Bot API server must not be captured by one);
- :func:`json_body`: a request without files is posted as ``application/json`` (the Bot API
  takes JSON, form and multipart bodies alike); a request with a file stays multipart, built
  by the framework's own code;
- :data:`NOT_SENT`: the aiohttp failures that happen before a request leaves, which the
  messengers tell apart from those after it (:class:`~bot.core.errors.UncertainDelivery`).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

JSON_HEADERS = {"Content-Type": "application/json"}

NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL)
"""aiohttp failures that happen before a request leaves: Telegram cannot have applied it."""


def may_have_arrived(cause: BaseException | None) -> bool:
    """Whether the aiohttp failure behind a framework's network error came after the request
    left (a timeout waiting for the answer, a connection lost or reset): Telegram may have
    applied it. A failure to connect, or no aiohttp cause (a 5xx answer), says it did not."""
    return isinstance(cause, TimeoutError | aiohttp.ClientError) and not isinstance(
        cause, NOT_SENT
    )


def client_session(connections: int, user_agent: str) -> aiohttp.ClientSession:
    """A session keeping up to `connections` connections to the Bot API open, reused
    request after request; the caller closes it. Timeouts are given per request."""
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    return aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": user_agent}, trust_env=False
    )


def json_body(parameters: dict[str, Any]) -> bytes:
    """The request's parameters as a compact UTF-8 JSON body (the stdlib encoder)."""
    return json.dumps(parameters, ensure_ascii=False, separators=(",", ":")).encode()
