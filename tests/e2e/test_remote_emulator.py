"""The emulator served by a child process (:class:`sandbox.remote.RemoteEmulator`), as the
sender benchmark runs it: the bot's requests reach it over HTTP, it still enforces the flood
limits, and what it received is read back from this process."""

from __future__ import annotations

import httpx
import pytest

from sandbox import FloodLimits
from sandbox.remote import RemoteEmulator

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST"


async def test_a_child_process_serves_limits_and_reports_what_it_received() -> None:
    limits = FloodLimits(per_chat_rate=0.01, per_chat_burst=2)
    async with RemoteEmulator(token=TOKEN, limits=limits) as emu:
        alice, bob = await emu.add_users(["Alice", "Bob"])
        api = f"{emu.base_url}/bot{TOKEN}"
        async with httpx.AsyncClient() as http:
            statuses = [
                (
                    await http.post(f"{api}/sendMessage", json={"chat_id": alice.id, "text": "hi"})
                ).status_code
                for _ in range(3)
            ]
            await emu.send_text(bob, "/start")
            updates = (await http.post(f"{api}/getUpdates", json={"timeout": 0})).json()
        assert statuses == [200, 200, 429]  # the chat's burst of 2, then flood control
        [update] = updates["result"]
        assert update["message"]["text"] == "/start" and update["message"]["chat"]["id"] == bob.id
        assert await emu.wait_for("sendMessage", chat_id=alice.id, count=2, ok=True) == 2
        received, total = await emu.requests_since(0)
        assert total == 4 and [(r.method, r.chat_id, r.status) for r in received] == [
            ("sendMessage", alice.id, 200),
            ("sendMessage", alice.id, 200),
            ("sendMessage", alice.id, 429),
            ("getUpdates", None, 200),
        ]
        later, total = await emu.requests_since(3)
        assert [r.method for r in later] == ["getUpdates"] and total == 4
        await emu.reset_limits()
        async with httpx.AsyncClient() as http:
            again = await http.post(f"{api}/sendMessage", json={"chat_id": alice.id, "text": "."})
        assert again.status_code == 200  # the buckets were refilled


async def test_a_failing_command_is_raised_here_and_the_child_stops_with_us() -> None:
    emu = RemoteEmulator(token=TOKEN)
    async with emu:
        with pytest.raises(RuntimeError, match="TimeoutError"):
            await emu.wait_for("sendMessage", count=1, timeout=0.2)
        process = emu._process
        assert process is not None and process.poll() is None
    assert process.poll() is not None  # stopped with the context
