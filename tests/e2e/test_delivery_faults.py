"""Faults on the way out, through aiogram AND python-telegram-bot against the emulator (#9).

Each customer's answer meets one fault the emulator injects on ``sendMessage`` to their chat:
a 429, a 5xx, a connection dropped before the request was applied, one dropped after it was
applied, an answer slower than the client's read timeout (applied too), a 403 (the customer
blocked the bot) and a 400 "chat not found". What must hold afterwards:

- nothing is lost: every reachable customer has their answer;
- nothing is sent twice beyond the stated bound: exactly one copy where Telegram said no (429,
  5xx, dropped before), at most two where the first request may have arrived (dropped after,
  slow) — the outbox tries such a send once more and never a third time;
- each outbox row ends in the right state: sent, or skipped with Telegram's reason, and an
  unreachable customer is marked so;
- a failed button answer (``answerCallbackQuery``) never cancels the message that follows it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Framework
from sandbox import Emulator, Fault, SimUser
from tests.bot_database import BOT_DATABASE, bot_database_url, read_rows
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot
from tests.e2e.test_complaints import desk_settings, open_ticket_through, staff_desk

pytestmark = [pytest.mark.e2e, BOT_DATABASE]

REQUEST_TIMEOUT = 1.0
"""The bot's read timeout here, so a slow answer costs a second, not ten."""
SETTINGS: dict[str, Any] = {
    **FAST_PACING,
    "telegram_request_timeout_seconds": REQUEST_TIMEOUT,
    "outbox_poll_seconds": 0.1,
    "outbox_backoff_initial_seconds": 0.2,
}
ONCE = ("retry_after", "server_error", "drop_before")
MAYBE_TWICE = ("drop_after", "slow")
UNREACHABLE = {"blocked": "blocked", "chat_not_found": "chat_gone"}


def fault(kind: str, chat_id: int) -> Fault:
    times = None if kind in UNREACHABLE else 1
    delay = 30.0 if kind == "slow" else 0.0
    return Fault(kind, chat_id=chat_id, method="sendMessage", times=times, delay=delay)  # type: ignore[arg-type]


def answers(emu: Emulator, user: SimUser) -> int:
    return sum("/m1 " in m.get("text", "") for m in emu.bot_messages(user.id))


async def outbox_states(database: Path) -> dict[int, list[tuple[str, str]]]:
    """chat id → (state, reason) of the outbox rows to it."""
    found: dict[int, list[tuple[str, str]]] = {}
    for chat_id, state, error in read_rows(
        await bot_database_url(database),
        "SELECT chat_id, state, coalesce(last_error, '') FROM outbox ORDER BY id",
    ):
        found.setdefault(int(chat_id), []).append((str(state), str(error)))
    return found


async def settled(database: Path, timeout: float = 60.0) -> None:
    """Waits until no outbox row is pending or being sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = [s for states in (await outbox_states(database)).values() for s, _ in states]
        if rows and all(s in ("sent", "skipped", "failed") for s in rows):
            return
        assert loop.time() < deadline, f"outbox not settled: {await outbox_states(database)}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_each_fault_on_a_send_ends_right(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    kinds = [*ONCE, *MAYBE_TWICE, *UNREACHABLE]
    users = {kind: emu.add_user(f"F{n}", language_code="en") for n, kind in enumerate(kinds)}
    database = tmp_path / "bot.db"
    async with running_bot(emu, database, framework, **SETTINGS) as (_, services):
        for kind, user in users.items():
            emu.inject_fault(fault(kind, user.id))
        for user in users.values():
            await emu.send_text(user, "/m1")
        await settled(database)
        await asyncio.sleep(1.0)  # a late repeat, if any, would come now
        async with services.uow() as uow:
            reach = {
                kind: (await uow.customers.get_by_chat_id(users[kind].id)) for kind in UNREACHABLE
            }
    states = await outbox_states(database)
    copies = {kind: answers(emu, user) for kind, user in users.items()}
    print(f"{framework}: copies per fault {copies}")
    for kind in ONCE:
        assert copies[kind] == 1, (kind, copies, states[users[kind].id])
        assert [s for s, _ in states[users[kind].id]] == ["sent"], kind
    for kind in MAYBE_TWICE:
        assert 1 <= copies[kind] <= 2, (kind, copies)
        [(state, _reason)] = states[users[kind].id]
        assert state == "sent", (kind, states[users[kind].id])
    for kind, reachability in UNREACHABLE.items():
        assert copies[kind] == 0
        [(state, reason)] = states[users[kind].id]
        assert state == "skipped" and reason, (kind, reason)
        customer = reach[kind]
        assert customer is not None and customer.reachability.value == reachability


@pytest.mark.parametrize("answer_fault", ["server_error", "retry_after", "drop_after", "slow"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_failed_button_answer_never_cancels_what_follows(
    framework: Framework, answer_fault: str, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    user = emu.add_user("Lin", language_code="en")
    database = tmp_path / "bot.db"
    async with running_bot(emu, database, framework, **SETTINGS):
        await emu.send_text(user, "/language")
        prompt = await wait_for_buttons(emu, user)
        delay = 30.0 if answer_fault == "slow" else 0.0
        emu.inject_fault(
            Fault(answer_fault, method="answerCallbackQuery", times=1, delay=delay)  # type: ignore[arg-type]
        )
        await emu.press_button(user, prompt["message_id"], "lang:zh-Hans")
        await wait_for(lambda: "简体中文为您服务" in latest_text(emu, user))
        await settled(database)
    edited = [r for r in emu.requests if r.method == "editMessageText" and r.status == 200]
    assert len(edited) == 1, [(r.method, r.status, r.fault) for r in emu.requests]


async def wait_for_buttons(emu: Emulator, user: SimUser) -> dict[str, Any]:
    await wait_for(lambda: any(m.get("reply_markup") for m in emu.bot_messages(user.id)))
    return next(m for m in emu.bot_messages(user.id) if m.get("reply_markup"))


def latest_text(emu: Emulator, user: SimUser) -> str:
    messages = emu.bot_messages(user.id)
    return str(messages[-1].get("text", "")) if messages else ""


async def wait_for(condition: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_staff_group_that_refuses_the_bot_is_reported_to_the_supervisors(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    """The staff group answers 403 (the bot was removed): the ticket card cannot be posted,
    and the supervisors' chat is told so at once, with what the problem is."""
    emu = fast_emulator
    staff, sue, max_ = staff_desk(emu)
    user = emu.add_user("Noor", language_code="en")
    settings = {**SETTINGS, **desk_settings(staff, sue, max_)}
    database = tmp_path / "bot.db"
    async with running_bot(emu, database, framework, **settings):
        emu.inject_fault(Fault("blocked", chat_id=staff.group.id))
        await open_ticket_through(emu, user)
        await wait_for(
            lambda: any("cannot post" in m.get("text", "") for m in emu.bot_messages(sue.id))
        )
        await settled(database)
    alert = next(m for m in emu.bot_messages(sue.id) if "cannot post" in m.get("text", ""))
    assert str(staff.group.id) in alert["text"] and "removed or blocked" in alert["text"]
    card_rows = (await outbox_states(database)).get(staff.group.id, [])
    assert card_rows and all(state == "skipped" for state, _reason in card_rows), card_rows


def alerts(emu: Emulator, supervisor: SimUser) -> list[dict[str, Any]]:
    return [m for m in emu.bot_messages(supervisor.id) if "cannot post" in m.get("text", "")]
