"""What each framework's messenger raises for network faults, and the paid-broadcast flag,
against the emulator: both adapters must map the same fault to the same core error.

- an answer that never comes (a slow answer past the read timeout, a connection dropped after
  the request left) → :class:`~bot.core.errors.UncertainDelivery`: Telegram may have
  delivered it (the emulator shows when it did);
- a connection refused (the request never left) and a 5xx answer → a plain
  :class:`~bot.core.errors.TransientError`.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app.runner import make_app
from bot.app.settings import Framework, Settings
from bot.core.errors import DeliveryError, TransientError, UncertainDelivery
from bot.core.messages import Outgoing
from bot.core.ports import Messenger
from sandbox import Emulator, Fault, FloodLimits
from tests.e2e.conftest import FRAMEWORKS, TOKEN, adapter_client

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 0.5
"""The messengers' HTTP timeout here (the frameworks' defaults are 5 s and 60 s)."""
CONNECTIONS = 4
"""The adapters' connection pool here."""
HELD = 30.0
"""A slow answer's hold: far past the timeout (it ends when the client gives up)."""


@contextlib.asynccontextmanager
async def messenger(framework: str, base: str, *, paid: bool = False) -> AsyncIterator[Messenger]:
    """The adapter's messenger over a framework bot aimed at `base`, with a short timeout,
    through the HTTP client the adapter uses (:mod:`bot.adapters.aiogram.session`,
    :mod:`bot.adapters.ptb.request`)."""
    async with adapter_client(
        framework, base, timeout=READ_TIMEOUT, connections=CONNECTIONS, paid=paid
    ) as (_bot, messenger):
        yield messenger


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, limits=FloodLimits(enabled=False)) as emulator:
        yield emulator


async def raised(messenger: Messenger, message: Outgoing) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await messenger.send(message)
    return caught.value


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_no_answer_is_uncertain_delivery_on_both_frameworks(
    framework: str, emu: Emulator
) -> None:
    alice = emu.add_user("Alice")
    async with messenger(framework, emu.base_url) as bot:
        emu.inject_fault(Fault(kind="slow", method="sendMessage", delay=HELD, times=1))
        error = await raised(bot, Outgoing(alice.id, "slow"))
        assert isinstance(error, UncertainDelivery), repr(error)

        emu.inject_fault(Fault(kind="drop_after", method="sendMessage", times=1))
        error = await raised(bot, Outgoing(alice.id, "dropped after"))
        assert isinstance(error, UncertainDelivery), repr(error)

        # The client cannot tell a drop before the request applied from one after it.
        emu.inject_fault(Fault(kind="drop_before", method="sendMessage", times=1))
        error = await raised(bot, Outgoing(alice.id, "dropped before"))
        assert isinstance(error, UncertainDelivery), repr(error)

        await bot.send(Outgoing(alice.id, "fine"))
    # What Telegram really did: the doubt was justified twice out of three.
    assert [m["text"] for m in emu.bot_messages(alice.id)] == ["slow", "dropped after", "fine"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_server_errors_and_refused_connections_are_plainly_transient(
    framework: str, emu: Emulator
) -> None:
    alice = emu.add_user("Alice")
    async with messenger(framework, emu.base_url) as bot:
        emu.inject_fault(Fault(kind="server_error", method="sendMessage", times=1))
        error = await raised(bot, Outgoing(alice.id, "x"))
        assert type(error) is TransientError, repr(error)

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with messenger(framework, f"http://127.0.0.1:{port}") as bot:
        error = await raised(bot, Outgoing(alice.id, "x"))
        assert type(error) is TransientError, repr(error)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_failed_button_answer_maps_to_core_errors_too(
    framework: str, emu: Emulator
) -> None:
    async with messenger(framework, emu.base_url) as bot:
        emu.inject_fault(Fault(kind="drop_after", method="answerCallbackQuery", times=1))
        with pytest.raises(UncertainDelivery):
            await bot.answer_callback("123", "Noted")
        emu.inject_fault(Fault(kind="retry_after", method="answerCallbackQuery", times=1))
        with pytest.raises(DeliveryError):
            await bot.answer_callback("123", "Noted")


def paid_flags(emu: Emulator) -> list[tuple[str, Any]]:
    return [
        (r.method, r.params.get("allow_paid_broadcast"))
        for r in emu.requests
        if r.method in ("sendMessage", "copyMessage", "editMessageText")
    ]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("paid", [False, True])
async def test_paid_broadcast_marks_new_messages_and_copies(
    framework: str, paid: bool, emu: Emulator
) -> None:
    alice, bob = emu.add_user("Alice"), emu.add_user("Bob")
    async with messenger(framework, emu.base_url, paid=paid) as bot:
        sent = await bot.send(Outgoing(alice.id, "hello"))
        await bot.send(Outgoing(alice.id, "hello again", edit_message_id=sent.message_id))
        await bot.send(
            Outgoing(bob.id, "", copy_from_chat_id=alice.id, copy_message_id=sent.message_id)
        )
    flag = True if paid else None
    assert paid_flags(emu) == [
        ("sendMessage", flag),
        ("editMessageText", None),  # edits have no such parameter
        ("copyMessage", flag),
    ]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_the_settings_reach_the_messenger_the_bot_runs_with(
    framework: Framework, emu: Emulator
) -> None:
    """One request timeout on both frameworks, and paid broadcasts, from the settings."""
    alice = emu.add_user("Alice")
    settings = Settings(
        bot_token=TOKEN,
        api_base=emu.base_url,
        telegram_request_timeout_seconds=READ_TIMEOUT,
        paid_broadcast=True,
    )
    app = make_app(framework, settings)
    try:
        emu.inject_fault(Fault(kind="slow", method="sendMessage", delay=HELD, times=1))
        error = await raised(app.messenger, Outgoing(alice.id, "slow"))
        assert isinstance(error, UncertainDelivery), repr(error)
        await app.messenger.send(Outgoing(alice.id, "paid"))
    finally:
        await app.stop()
    assert paid_flags(emu) == [("sendMessage", True), ("sendMessage", True)]
    assert [m["text"] for m in emu.bot_messages(alice.id)] == ["slow", "paid"]
