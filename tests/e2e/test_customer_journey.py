"""The walking skeleton's journey, end to end, through aiogram AND python-telegram-bot.

Three customers (English, Simplified and Traditional Chinese) start, ask FAQ questions,
confirm a borderline match with a button, get a question handed to a person, and switch
language. Each framework runs the real bot against the emulator by long polling; the test
checks what the customers saw (from the emulator) and what the bot meant to say (template
keys from the message log), and finally that both frameworks sent the very same Bot API
requests.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Framework
from bot.core.models import Direction, RequestReason
from sandbox.emulator import Emulator
from sandbox.scenario import OUTPUT_METHODS, Persona, Press, Say, play
from tests.e2e.conftest import FRAMEWORKS, running_bot
from tests.fakes import AnchoredClock

JOURNEY: tuple[Persona, ...] = (
    Persona(
        "Alice",
        "en",
        (
            Say("/start"),
            Say("How long does delivery take?"),
            Say("invoice"),
            Press("Yes"),
            Say("Can you engrave my initials on the teapot lid?"),
            Say("/language"),
            Press("简体中文"),
            Say("/help"),
        ),
        last_name="Smith",
        username="alice",
    ),
    Persona(
        "王芳",
        "zh-CN",
        (Say("/start"), Say("怎么申请退货"), Say("发票"), Press("不是")),
    ),
    Persona(
        "陳大文",
        "zh-HK",
        (Say("/start"), Say("運費怎麼算"), Say("你們有實體店嗎？")),
    ),
)

EXPECTED_KEYS: dict[str, list[str]] = {
    "Alice": [
        "start.greeting",
        "faq.reply",
        "faq.confirm",
        "faq.confirm_answered",
        "faq.reply",
        "handoff.promised",
        "language.prompt",
        "language.changed",
        "help.text",
    ],
    "王芳": [
        "start.greeting",
        "faq.reply",
        "faq.confirm",
        "faq.confirm_answered",
        "handoff.promised",
    ],
    "陳大文": ["start.greeting", "faq.reply", "handoff.promised"],
}

_runs: dict[str, list[tuple[str, dict[str, Any]]]] = {}


def normalised(emu: Emulator) -> list[tuple[str, dict[str, Any]]]:
    """What the bot said, as Bot API requests, comparable across frameworks: the requests that
    Telegram accepted (a request refused with 429 and then retried appears once)."""
    return [
        (r.method, dict(r.params))
        for r in emu.requests
        if (r.method in OUTPUT_METHODS or r.method == "setMyCommands") and r.status == 200
    ]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_journey(framework: Framework, emulator: Emulator, tmp_path: Path) -> None:
    # Both frameworks' runs start at the same instant, so promised times read the same.
    clock = AnchoredClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    async with running_bot(emulator, tmp_path / "bot.db", framework, clock=clock) as (
        app,
        services,
    ):
        transcript = await play(emulator, JOURNEY, idle=lambda: app.dispatcher.in_flight == 0)
        async with services.uow() as uow:
            for persona in JOURNEY:
                chat_id = transcript.users[persona.first_name].id
                messages = await uow.messages.for_chat(chat_id, limit=1000)
                keys = [m.template_key for m in messages if m.direction is Direction.OUT]
                assert keys == EXPECTED_KEYS[persona.first_name], persona.first_name
                customer = await uow.customers.get_by_chat_id(chat_id)
                assert customer is not None and customer.id is not None
                requests = await uow.requests.open_for_customer(customer.id)
                reasons = {r.reason for r in requests}
                if persona.first_name == "Alice":
                    assert customer.language == "zh-Hans"
                    assert reasons == {RequestReason.FAQ_MISS}
                if persona.first_name == "王芳":
                    assert reasons == {RequestReason.FAQ_REJECTED}
                    assert requests[0].text == "发票"
    said = transcript.bot_texts()
    assert said[0].startswith("Hello Alice, welcome to Teapot & Co.")
    assert any("I will follow this up for you" in s for s in said)
    assert any("我可以这样帮助您" in s for s in said)  # Alice's /help after switching
    assert any("王芳，您好" in s for s in said)
    assert any("陳大文，您好" in s for s in said) and any("我會為您跟進" in s for s in said)
    _runs[framework] = normalised(emulator)


def test_both_frameworks_sent_the_same_requests() -> None:
    if set(_runs) != set(FRAMEWORKS):
        pytest.skip("needs both journeys (run the whole module)")
    aiogram_requests = _runs["aiogram"]
    ptb_requests = _runs["ptb"]
    assert len(aiogram_requests) > 20
    assert aiogram_requests == ptb_requests


@pytest.mark.parametrize(("first", "second"), [("aiogram", "ptb"), ("ptb", "aiogram")])
async def test_a_dialogue_survives_a_restart_on_another_framework(
    first: Framework, second: Framework, emulator: Emulator, tmp_path: Path
) -> None:
    """The confirm-first state lives in the database: a different process on a different
    framework continues the dialogue the first one started."""
    database = tmp_path / "bot.db"
    async with running_bot(emulator, database, first):
        user = emulator.add_user("Bea", language_code="en")
        await play_steps(emulator, user, [Say("my parcel thing")])
        [confirm] = [m for m in emulator.bot_messages(user.id) if m.get("reply_markup")]
    async with running_bot(emulator, database, second) as (_app, services):
        no = confirm["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        emulator.mark()
        await emulator.press_button(user, confirm["message_id"], no)
        await emulator.wait_for("sendMessage", chat_id=user.id, timeout=10)
        async with services.uow() as uow:
            customer = await uow.customers.get_by_chat_id(user.id)
            assert customer is not None and customer.id is not None
            [request] = await uow.requests.open_for_customer(customer.id)
    assert request.text == "my parcel thing"
    assert request.reason is RequestReason.FAQ_REJECTED


async def play_steps(emu: Emulator, user: Any, steps: list[Say]) -> None:
    for step in steps:
        emu.mark()
        await emu.send_text(user, step.text)
        await emu.wait_for("sendMessage", chat_id=user.id, timeout=10)


@pytest.mark.parametrize(("first", "second"), [("aiogram", "ptb"), ("ptb", "aiogram")])
async def test_an_update_delivered_again_after_a_restart_is_answered_once(
    first: Framework, second: Framework, emulator: Emulator, tmp_path: Path
) -> None:
    """A bot that handled an update but died before confirming it gets it again from
    Telegram; the update id in the database stops a second answer, whichever framework."""
    database = tmp_path / "bot.db"
    async with running_bot(emulator, database, first):
        user = emulator.add_user("Cy", language_code="en")
        emulator.mark()
        update = await emulator.send_text(user, "/start")
        await emulator.wait_for("sendMessage", chat_id=user.id, timeout=10)
    await emulator.redeliver(update)
    async with running_bot(emulator, database, second):
        await emulator.send_text(user, "/help")
        await emulator.wait_for("sendMessage", chat_id=user.id, count=2, timeout=10)
        await asyncio.sleep(0.3)
    texts = [m["text"] for m in emulator.bot_messages(user.id)]
    assert len(texts) == 2 and texts[0].startswith("Hello Cy") and "/language" in texts[1]
