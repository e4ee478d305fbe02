"""The walking skeleton's journey, end to end, through aiogram AND python-telegram-bot.

Three customers (English, Simplified and Traditional Chinese) start, ask FAQ questions,
confirm a borderline match with a button, get a question handed to a person, and switch
language. Each framework runs the real bot against the emulator by long polling; the test
checks what the customers saw (from the emulator) and what the bot meant to say (template
keys from the message log), and finally that both frameworks sent the very same Bot API
requests.

The journey keeps Telegram's real limits (a customer's replies come faster than one a second,
so the bot must pace them) on a virtual clock the emulator and the bot share: the waits pass
at once, and any request the bot sends too early is refused with 429, which the test forbids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Framework
from bot.core.models import Direction, RequestReason
from sandbox import VirtualClock
from sandbox.emulator import Emulator, RecordedRequest
from sandbox.scenario import OUTPUT_METHODS, Persona, Press, Say, Transcript, play, settle
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS, TOKEN, running_bot

pytestmark = BOT_DATABASE

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

JOURNEY_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""Both frameworks' runs start at this instant, so the times the bot promises read the same."""


def normalised(requests: list[RecordedRequest]) -> list[tuple[str, dict[str, Any]]]:
    """What the bot said, as Bot API requests, comparable across frameworks: the requests that
    Telegram accepted (a request refused with 429 and then retried appears once)."""
    return [
        (r.method, dict(r.params))
        for r in requests
        if (r.method in OUTPUT_METHODS or r.method == "setMyCommands") and r.status == 200
    ]


@dataclass(frozen=True)
class JourneyRun:
    """One framework's journey: what the customers saw, what the bot logged, every request."""

    transcript: Transcript
    keys: dict[str, list[str | None]]
    reasons: dict[str, set[RequestReason]]
    languages: dict[str, str | None]
    first_request_texts: dict[str, str]
    requests: list[RecordedRequest]
    paced: int
    """How often the bot waited on the clock (for its pacing)."""


_journeys: dict[Framework, JourneyRun] = {}
"""Each framework's journey is played once per session, by whichever test needs it first."""


async def journey(framework: Framework, database: Path) -> JourneyRun:
    """Plays the journey on `framework` (once per session) against an emulator with
    Telegram's real limits, on virtual time that starts at :data:`JOURNEY_START`."""
    if framework in _journeys:
        return _journeys[framework]
    async with (
        VirtualClock(JOURNEY_START) as clock,
        Emulator(token=TOKEN, clock=clock) as emulator,
        running_bot(emulator, database, framework) as (app, services),
    ):
        transcript = await play(emulator, JOURNEY, idle=lambda: app.dispatcher.in_flight == 0)
        keys, reasons, languages, first_texts = {}, {}, {}, {}
        async with services.uow() as uow:
            for persona in JOURNEY:
                name = persona.first_name
                chat_id = transcript.users[name].id
                messages = await uow.messages.for_chat(chat_id, limit=1000)
                keys[name] = [m.template_key for m in messages if m.direction is Direction.OUT]
                customer = await uow.customers.get_by_chat_id(chat_id)
                assert customer is not None and customer.id is not None
                requests = await uow.requests.open_for_customer(customer.id)
                reasons[name] = {r.reason for r in requests}
                languages[name] = customer.language
                if requests:
                    first_texts[name] = requests[0].text
    run = JourneyRun(
        transcript, keys, reasons, languages, first_texts, list(emulator.requests), clock.sleeps
    )
    _journeys[framework] = run
    return run


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_journey(framework: Framework, tmp_path: Path) -> None:
    run = await journey(framework, tmp_path / "bot.db")
    for persona in JOURNEY:
        name = persona.first_name
        assert run.keys[name] == EXPECTED_KEYS[name], name
    assert run.languages["Alice"] == "zh-Hans"
    assert run.reasons["Alice"] == {RequestReason.FAQ_MISS}
    assert run.reasons["王芳"] == {RequestReason.FAQ_REJECTED}
    assert run.first_request_texts["王芳"] == "发票"
    said = run.transcript.bot_texts()
    assert said[0].startswith("Hello Alice, welcome to Teapot & Co.")
    assert any("I will follow this up for you" in s for s in said)
    assert any("我可以这样帮助您" in s for s in said)  # Alice's /help after switching
    assert any("王芳，您好" in s for s in said)
    assert any("陳大文，您好" in s for s in said) and any("我會為您跟進" in s for s in said)
    # Replies came faster than Telegram lets them out, so the bot had to wait...
    assert run.paced > 0
    # ...and it waited long enough: Telegram's flood control refused none of its requests.
    assert [(r.method, r.chat_id) for r in run.requests if r.status == 429] == []


async def test_both_frameworks_sent_the_same_requests(tmp_path: Path) -> None:
    aiogram_requests = normalised((await journey("aiogram", tmp_path / "aiogram.db")).requests)
    ptb_requests = normalised((await journey("ptb", tmp_path / "ptb.db")).requests)
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
    async with running_bot(emulator, database, second) as (app, _services):
        await emulator.send_text(user, "/help")
        await emulator.wait_for("sendMessage", chat_id=user.id, count=2, timeout=10)
        # The redelivered update comes first in the batch; once every update has been taken
        # and handled, nothing more can be said.
        await settle(
            emulator, 0, quiet=0.03, timeout=10, idle=lambda: app.dispatcher.in_flight == 0
        )
    texts = [m["text"] for m in emulator.bot_messages(user.id)]
    assert len(texts) == 2 and texts[0].startswith("Hello Cy") and "/language" in texts[1]
