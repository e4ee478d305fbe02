"""python-telegram-bot's HTTP requests over aiohttp: JSON bodies, one pool sized for the rate.

PTB's default :class:`~telegram.request.HTTPXRequest` runs on httpx/httpcore, whose
connection pool re-examines every connection and every waiting request each time one of them
changes state, and tries ``import sniffio`` (absent here: a search of ``sys.path`` each time)
for every lock it sets up. With 200 sends in flight at the paid broadcast rate that cost about
9 ms of CPU per send and held the sender near 120/s (docs/performance.md). PTB documents
:class:`~telegram.request.BaseRequest` as the place for another HTTP library;
:class:`AiohttpRequest` is one on aiohttp (already a dependency, aiogram's client):

- one ``aiohttp.ClientSession`` per instance with at most `connections` keep-alive
  connections (:func:`bot.adapters.http.client_session`);
- parameters go as one ``application/json`` body; a request with a file (an upload) goes as
  multipart form data, the parameters as PTB encodes them for forms;
- timeouts: `read_timeout` bounds the whole request (as aiogram's session does), a call may
  pass its own (polling does); `connect_timeout` bounds making a connection;
- failures become PTB's own exceptions with aiohttp's as their cause — a timeout
  :class:`~telegram.error.TimedOut`, anything else :class:`~telegram.error.NetworkError` — so
  PTB's handling and the messenger's translation (:mod:`bot.adapters.ptb.messenger`, which
  tells a failure before the request left from one after it by that cause) keep working.
  HTTP status codes are PTB's to read, as with any ``BaseRequest``.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.adapters.http import JSON_HEADERS, client_session, json_body

DEFAULT_CONNECT_TIMEOUT = 5.0
"""Seconds to make a connection, as in PTB's own request class."""


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` on aiohttp (see the module docstring)."""

    def __init__(
        self,
        *,
        connections: int,
        read_timeout: float,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = client_session(self._connections, self.USER_AGENT)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:  # used before `initialize`
            await self.initialize()
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(
            total=_seconds(read_timeout, self._read_timeout),
            sock_connect=_seconds(connect_timeout, self._connect_timeout),
        )
        data: bytes | aiohttp.FormData | None = None
        headers: dict[str, str] | None = None
        if request_data is not None and request_data.contains_files:
            data = _form(request_data)
        elif request_data is not None:
            data, headers = json_body(request_data.parameters), JSON_HEADERS
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(f"aiohttp: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _seconds(value: object, default: float) -> float | None:
    """A call's timeout: a number of seconds as given, None for no limit, and PTB's
    default markers (``DEFAULT_NONE``: the call gave none) → `default`."""
    if value is None:
        return None
    return float(value) if isinstance(value, int | float) else default


def _form(request_data: RequestData) -> aiohttp.FormData:
    """A request with files as multipart form data: the parameters as PTB encodes them
    for forms (JSON for nested values), then each file as PTB names it."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
