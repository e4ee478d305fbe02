"""Receiving updates by webhook (issue #13), through aiogram AND python-telegram-bot, against
the emulator's webhook delivery (which, like Telegram, keeps an update until it is answered
2xx and sends the secret token with every request).

* customers are answered, and the emulator was told the secret derived from the token;
* a request without the secret token gets 401 and nothing is recorded or answered;
* an update delivered twice is answered once;
* while the database is locked the receiver answers 503; the emulator delivers again and the
  customer is answered once the lock is gone: delayed, never dropped.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.adapters.webhook import SECRET_HEADER, derived_secret
from bot.app.settings import Framework
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE, bot_database_url, read_rows, write_lock_held
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, TOKEN, free_port, running_bot

pytestmark = [pytest.mark.e2e, BOT_DATABASE]


def webhook_settings(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "webhook_url": f"http://127.0.0.1:{port}/telegram/updates",
        "webhook_listen": f"127.0.0.1:{port}",
        **FAST_PACING,
        **extra,
    }


def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    sender = {"id": chat_id, "is_bot": False, "first_name": "Mallory", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Mallory"},
            "from": sender,
            "text": text,
        },
    }


async def post(port: int, body: dict[str, Any], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/telegram/updates"
        async with session.post(url, json=body, headers=headers) as response:
            return response.status


async def recorded(database: Path, update_id: int) -> bool:
    statement = "SELECT 1 FROM inbound_update WHERE update_id = :id"
    return bool(read_rows(await bot_database_url(database), statement, id=update_id))


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_customers_are_answered_by_webhook_and_forgeries_refused(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu, database, port = fast_emulator, tmp_path / "bot.db", free_port()
    async with running_bot(emu, database, framework, **webhook_settings(port)):
        assert emu.webhook.url == f"http://127.0.0.1:{port}/telegram/updates"
        assert emu.webhook.secret_token == derived_secret(TOKEN)
        customers = [emu.add_user(f"C{i}", language_code="en") for i in range(5)]
        emu.mark()
        for customer in customers:
            await emu.send_text(customer, "/start")
        for customer in customers:
            await emu.wait_for("sendMessage", chat_id=customer.id, timeout=20)
        assert emu.webhook.deliveries >= len(customers)

        # Anyone can find the URL; without Telegram's secret nothing is read or answered.
        mallory = emu.add_user("Mallory", language_code="en").id
        assert await post(port, update(880_001, mallory, "/start"), None) == 401
        assert await post(port, update(880_002, mallory, "/start"), "guess") == 401
        assert await post(port, {"no": "update"}, derived_secret(TOKEN)) == 400

        # Telegram re-delivers when an answer is lost: the same update twice, one answer.
        emu.mark()
        twice = update(880_003, mallory, "/start")
        assert await post(port, twice, derived_secret(TOKEN)) == 200
        assert await post(port, twice, derived_secret(TOKEN)) == 200
        await emu.wait_for("sendMessage", chat_id=mallory, timeout=20)
        await asyncio.sleep(0.5)  # time for a second answer, were there one
        assert len(emu.bot_messages(mallory)) == len(emu.bot_messages(customers[0].id)) >= 1
        # The operator's view, on the same port (the proxy forwards only the webhook path).
        health, status = await get_json(port, "/healthz")
        assert status == 200 and health["status"] == "ok" and health["database"] is True
        assert health["schema"]["at_head"] is True
        assert health["lease_holder"] is not None
        assert health["outbox"]["pending"] == {} or all(
            n >= 0 for n in health["outbox"]["pending"].values()
        )
        metrics = await get_text(port, "/metrics")
        assert metric(metrics, "rapport_updates_handled_total") >= len(customers) + 1
        assert metric(metrics, "rapport_messages_sent_total") >= len(customers) + 1
        assert metric(metrics, "rapport_telegram_429_total") == 0
        assert metric(metrics, 'rapport_outbox_rows{lane="service",state="sent"}') >= 1
        assert metric(metrics, "rapport_up") == 1
        assert "Mallory" not in metrics and TOKEN not in metrics
    assert not await recorded(database, 880_001) and not await recorded(database, 880_002)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_health_and_metrics_in_polling_mode(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu, port = fast_emulator, free_port()
    extra = {"health_listen": f"127.0.0.1:{port}", **FAST_PACING}
    async with running_bot(emu, tmp_path / "bot.db", framework, **extra):
        customer = emu.add_user("Ada", language_code="en")
        await emu.send_text(customer, "/start")
        await emu.wait_for("sendMessage", chat_id=customer.id, timeout=20)
        health, status = await get_json(port, "/healthz")
        assert status == 200 and health["schema"]["at_head"]
        metrics = await get_text(port, "/metrics")
        assert metric(metrics, "rapport_updates_handled_total") >= 1
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the bot
        await get_text(port, "/healthz")


async def get_json(port: int, path: str) -> tuple[dict[str, Any], int]:
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json(), response.status


async def get_text(port: int, path: str) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


def metric(exposition: str, name: str) -> float:
    """The value of the sample `name` (with its labels, as printed) in Prometheus text."""
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name} in:\n{exposition}")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_locked_database_delays_a_webhook_update_and_never_drops_it(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu, database, port = fast_emulator, tmp_path / "bot.db", free_port()
    settings = webhook_settings(port, webhook_accept_timeout_seconds=0.5)
    async with running_bot(emu, database, framework, **settings):
        customer = emu.add_user("Ada", language_code="en")
        locked, release = threading.Event(), threading.Event()

        url = await bot_database_url(database)

        def hold_the_write_lock() -> None:  # another process's VACUUM, say
            with write_lock_held(url):
                locked.set()
                release.wait(30)

        holder = threading.Thread(target=hold_the_write_lock)
        holder.start()
        try:
            assert await asyncio.to_thread(locked.wait, 10)
            emu.mark()
            await emu.send_text(customer, "/start")
            for _ in range(200):  # the receiver answers 503: the emulator keeps it
                if emu.webhook.last_error_message == "Wrong response from the webhook: 503":
                    break
                await asyncio.sleep(0.05)
            assert emu.webhook.last_error_message == "Wrong response from the webhook: 503"
            assert not emu.bot_messages(customer.id)
        finally:
            release.set()
            await asyncio.to_thread(holder.join)
        await emu.wait_for("sendMessage", chat_id=customer.id, timeout=30)
        await asyncio.sleep(0.5)
        assert len(emu.bot_messages(customer.id)) == 1
