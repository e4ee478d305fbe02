"""The emulator's answer faults (slow answers, dropped connections) and its paid-broadcast
limit, over raw HTTP.

An answer fault changes how the answer reaches the client, not what Telegram did: a slow
answer comes after the client's read timeout for a request that *was* applied, a dropped
connection closes without an answer either before the request is applied or after. The
emulator's state (the chat's messages) and its record tell a test which one happened.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox import Emulator, Fault, FloodLimits, VirtualClock

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST"
CLIENT_TIMEOUT = 0.5
"""Seconds the raw client waits for an answer; a slow fault holds it far longer."""
HELD = 30.0
"""A slow answer's hold: far past the client's timeout (it ends when the client gives up)."""


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, limits=FloodLimits(enabled=False)) as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False, timeout=CLIENT_TIMEOUT
    ) as client:
        yield client


async def call(http: httpx.AsyncClient, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    response = await http.post(method, data=data)
    return response.status_code, response.json()


def texts(emu: Emulator, chat_id: int) -> list[str]:
    return [str(m.get("text")) for m in emu.bot_messages(chat_id)]


async def test_a_slow_answer_times_out_for_a_message_that_was_sent(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    alice = emu.add_user("Alice")
    emu.inject_fault(Fault(kind="slow", method="sendMessage", delay=HELD, times=1))
    with pytest.raises(httpx.ReadTimeout):
        await call(http, "sendMessage", chat_id=alice.id, text="late")
    assert texts(emu, alice.id) == ["late"]  # applied: the client just never heard
    [record] = emu.requests
    assert (record.status, record.fault, record.ok) == (200, "slow", True)

    # The hold ends once the client gave up; the next request is answered as usual.
    assert (await call(http, "sendMessage", chat_id=alice.id, text="next"))[0] == 200
    assert texts(emu, alice.id) == ["late", "next"]
    assert emu.requests[-1].fault is None


async def test_a_slow_answer_within_the_timeout_is_just_late(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    alice = emu.add_user("Alice")
    emu.inject_fault(Fault(kind="slow", delay=0.05, times=1))
    status, body = await call(http, "sendMessage", chat_id=alice.id, text="hi")
    assert status == 200 and body["result"]["text"] == "hi"


async def test_a_connection_dropped_before_the_request_applies_nothing(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    alice = emu.add_user("Alice")
    emu.inject_fault(Fault(kind="drop_before", chat_id=alice.id, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        await call(http, "sendMessage", chat_id=alice.id, text="lost")
    assert texts(emu, alice.id) == []
    [record] = emu.requests
    assert (record.status, record.fault, record.ok) == (0, "drop_before", False)
    assert (await call(http, "sendMessage", chat_id=alice.id, text="again"))[0] == 200
    assert texts(emu, alice.id) == ["again"]


async def test_a_connection_dropped_after_the_request_was_applied(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    alice = emu.add_user("Alice")
    emu.inject_fault(Fault(kind="drop_after", method="sendMessage", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        await call(http, "sendMessage", chat_id=alice.id, text="sent")
    assert texts(emu, alice.id) == ["sent"]
    [record] = emu.requests
    assert (record.status, record.fault) == (200, "drop_after")
    assert record.result["text"] == "sent"  # the answer the client missed


async def test_answer_faults_leave_polling_alone_and_take_turns_with_errors(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    alice = emu.add_user("Alice")
    emu.inject_fault(Fault(kind="drop_after"))
    emu.inject_fault(Fault(kind="server_error"))
    assert (await call(http, "getUpdates"))[0] == 200  # service methods are not hit
    with pytest.raises(httpx.RemoteProtocolError):  # one failing fault per request: the first
        await call(http, "sendMessage", chat_id=alice.id, text="x")
    emu.clear_faults()
    assert (await call(http, "sendMessage", chat_id=alice.id, text="y"))[0] == 200


async def test_paid_broadcasts_have_their_own_bot_wide_limit() -> None:
    """Telegram's ~30/s bot-wide limit holds for ordinary sends; ``allow_paid_broadcast``
    raises it to 1000/s; the per-chat limit holds either way."""
    clock = VirtualClock()  # not running: time stands still unless moved by hand
    async with (
        Emulator(token=TOKEN, clock=clock) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):
        users = [emu.add_user(f"U{i}").id for i in range(120)]

        async def send(chat: int, **extra: Any) -> int:
            return (await call(http, "sendMessage", chat_id=chat, text="x", **extra))[0]

        assert [await send(u) for u in users[:31]] == [200] * 30 + [429]
        paid = [await send(u, allow_paid_broadcast=True) for u in users]
        assert paid == [200] * len(users)
        assert await send(users[0], allow_paid_broadcast=False) == 429  # still 30/s unpaid
        # One chat: a burst of 3, paid or not (users[0] has had two messages already).
        assert await send(users[0], allow_paid_broadcast=True) == 200
        assert await send(users[0], allow_paid_broadcast=True) == 429


async def test_the_paid_limit_is_enforced_too() -> None:
    clock = VirtualClock()
    limits = FloodLimits(paid_broadcast_rate=50.0)
    async with (
        Emulator(token=TOKEN, clock=clock, limits=limits) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):
        users = [emu.add_user(f"U{i}").id for i in range(51)]
        statuses = [
            (await call(http, "sendMessage", chat_id=u, text="x", allow_paid_broadcast=True))[0]
            for u in users
        ]
        assert statuses == [200] * 50 + [429]
