"""The adapters' HTTP clients (:mod:`bot.adapters.aiogram.session`,
:mod:`bot.adapters.ptb.request`) against the emulator, through a proxy that notes each
request's content type: requests without files go as JSON (nested objects, a keyboard, as
JSON objects), uploads stay multipart, answers and errors read as the frameworks read them,
and the pool holds no more connections than it was given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.core.errors import BadRequest, ChatBlocked
from bot.core.messages import OutButton, Outgoing
from sandbox import Emulator, Fault, FloodLimits
from tests.e2e.conftest import FRAMEWORKS, TOKEN, adapter_client

pytestmark = pytest.mark.e2e

TIMEOUT = 5.0


@dataclass
class Proxy:
    """Forwards every request to the emulator unchanged; notes the Bot API method, the
    content type and how many requests were open at once."""

    target: str
    base: str = ""
    """Where the proxy listens (the base URL the clients are given)."""
    seen: list[tuple[str, str]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    hold: float = 0.0
    """Seconds each request is held before it is forwarded (to see the pool's bound)."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path.rsplit("/", 1)[-1], request.content_type))
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await asyncio.sleep(self.hold)
            body = await request.read()
            async with (
                aiohttp.ClientSession() as client,
                client.request(
                    request.method,
                    self.target + request.path_qs,
                    data=body,
                    headers={"Content-Type": request.headers.get("Content-Type", "")},
                ) as answer,
            ):
                return web.Response(
                    status=answer.status,
                    body=await answer.read(),
                    content_type=answer.content_type,
                )
        finally:
            self.open_now -= 1

    def types(self, method: str) -> list[str]:
        return [kind for name, kind in self.seen if name == method]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, limits=FloodLimits(enabled=False)) as emulator:
        yield emulator


@pytest.fixture
async def proxy(emu: Emulator) -> AsyncIterator[Proxy]:
    recorder = Proxy(emu.base_url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recorder.base = f"http://127.0.0.1:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


def client(framework: str, base: str, connections: int) -> Any:
    """(the framework's bot, the adapter's messenger) through the proxy at `base`."""
    return adapter_client(framework, base, timeout=TIMEOUT, connections=connections)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_messages_go_as_json_and_arrive_whole(
    framework: str, emu: Emulator, proxy: Proxy
) -> None:
    alice = emu.add_user("Alice")
    async with client(framework, proxy.base, 4) as (_bot, messenger):
        sent = await messenger.send(
            Outgoing(alice.id, "<b>Hello</b> 你好", buttons=((OutButton("Yes", "y:1"),),))
        )
        await messenger.send(Outgoing(alice.id, "Hello again", edit_message_id=sent.message_id))
    assert proxy.types("sendMessage") == ["application/json"]
    assert proxy.types("editMessageText") == ["application/json"]
    [message] = emu.bot_messages(alice.id)
    assert message["text"] == "Hello again" and message["message_id"] == sent.message_id
    [first] = [r for r in emu.requests if r.method == "sendMessage"]
    assert first.params["text"] == "<b>Hello</b> 你好"
    assert first.params["parse_mode"] == "HTML"
    assert first.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "y:1"}]]
    }


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_upload_stays_multipart(framework: str, emu: Emulator, proxy: Proxy) -> None:
    alice = emu.add_user("Alice")
    async with client(framework, proxy.base, 4) as (bot, _messenger):
        if framework == "aiogram":
            from aiogram.types import BufferedInputFile

            await bot.send_document(
                alice.id, BufferedInputFile(b"id,amount\n1,2\n", "orders.csv"), caption="CSV"
            )
        else:
            await bot.send_document(
                alice.id, document=b"id,amount\n1,2\n", filename="orders.csv", caption="CSV"
            )
    assert proxy.types("sendDocument") == ["multipart/form-data"]
    [document] = emu.bot_messages(alice.id)
    assert document["caption"] == "CSV"
    assert document["document"]["file_name"] == "orders.csv"


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_error_answers_read_as_before(framework: str, emu: Emulator, proxy: Proxy) -> None:
    alice = emu.add_user("Alice")
    emu.inject_fault(Fault(kind="blocked", chat_id=alice.id))
    async with client(framework, proxy.base, 4) as (_bot, messenger):
        with pytest.raises(ChatBlocked):
            await messenger.send(Outgoing(alice.id, "hello"))
        with pytest.raises(BadRequest):
            await messenger.send(Outgoing(emu.add_user("Bob").id, ""))


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_the_pool_bounds_the_requests_open_at_once(
    framework: str, emu: Emulator, proxy: Proxy
) -> None:
    proxy.hold = 0.05
    people = [emu.add_user(f"U{i}") for i in range(12)]
    async with client(framework, proxy.base, 3) as (_bot, messenger):
        await asyncio.gather(*(messenger.send(Outgoing(p.id, "hi")) for p in people))
        assert proxy.most_open == 3
    assert all(len(emu.bot_messages(p.id)) == 1 for p in people)
