"""aiohttp routes: ``/bot<token>/<method>`` (GET or POST) and ``/file/bot<token>/<path>``.

This layer only turns HTTP into ``(token, method, pairs)`` for
:meth:`sandbox.Emulator.handle_call` and its ``(status, body)`` back into HTTP — or, for an
injected dropped connection, closes the connection without an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .errors import ConnectionDropped
from .validation import UploadedFile

logger = logging.getLogger(__name__)

ClientGone = Callable[[], bool]
"""Whether the client has closed its connection (given up waiting for the answer)."""
CallHandler = Callable[
    [str, str, list[tuple[str, Any]], ClientGone], Awaitable[tuple[int, dict[str, Any]]]
]
FileLookup = Callable[[str, str], bytes | None]
MAX_BODY = 64 * 1024 * 1024


async def read_pairs(request: web.Request) -> list[tuple[str, Any]]:
    """Query string plus form, multipart or JSON body, as ``(name, str | UploadedFile)``."""
    pairs: list[tuple[str, Any]] = list(request.query.items())
    if request.method != "POST" or not request.can_read_body:
        return pairs
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return pairs
        if isinstance(body, dict):
            pairs.extend(body.items())
        return pairs
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            pairs.append(
                (key, UploadedFile(value.filename or key, value.content_type or "", data))
            )
        else:
            pairs.append((key, str(value)))
    return pairs


def build_app(on_call: CallHandler, on_file: FileLookup) -> web.Application:
    """The aiohttp application of the emulator."""

    async def api(request: web.Request) -> web.StreamResponse:
        pairs = await read_pairs(request)

        def gone() -> bool:
            transport = request.transport
            return transport is None or transport.is_closing()

        try:
            status, body = await on_call(
                request.match_info["token"], request.match_info["method"], pairs, gone
            )
        except ConnectionDropped:
            transport = request.transport
            if transport is not None:
                transport.close()  # the client sees the server disconnect without an answer
            return web.Response(status=500)  # never reaches the client
        return web.json_response(body, status=status)

    async def file(request: web.Request) -> web.StreamResponse:
        data = on_file(request.match_info["token"], request.match_info["path"])
        if data is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=data, content_type="application/octet-stream")

    async def not_found(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", file)
    app.router.add_route("*", "/bot{token}/{method}", api)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
