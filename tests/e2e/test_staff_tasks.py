"""Staff tasks end to end, through aiogram AND python-telegram-bot against the emulator
(issue #10): the playbook's monthly high-tier check-in becomes a task card in the dedicated
advisor's private chat (the supervisors' chat for a customer without one); each button works
and is recorded with who and when; "Send the suggested message" sends the customer the
check-in exactly once, however often it is pressed or the playbook runs; a colleague who is
not the assignee is refused courteously; the win-back "unhappy with service" variant opens a
call-back task in the supervisors' chat; a month later (the clock moved on) the next
check-ins arrive."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.app.bootstrap import Services
from bot.app.jobs import engagement
from bot.app.settings import Framework
from bot.core.roles import Role
from bot.core.staff_tasks import TaskChoice, TaskKind, TaskState
from sandbox import Emulator, SimChat, SimUser
from sandbox.scenario import settle, visible
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, enroll_staff, running_bot, standing
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat
from tests.fakes import ShiftedClock

pytestmark = BOT_DATABASE

CHECKIN = "This is your personal check-in"


def cards(emu: Emulator, chat_id: int) -> list[dict[str, Any]]:
    return [
        m
        for m in emu.bot_messages(chat_id)
        if str(m.get("text", "")).startswith("📅") or str(m.get("text", "")).startswith("📞")
    ]


def card_about(emu: Emulator, chat_id: int, name: str) -> dict[str, Any]:
    [card] = [m for m in cards(emu, chat_id) if name in str(m.get("text"))]
    return card


async def press(
    emu: Emulator, app: Any, user: SimUser, card: dict[str, Any], label: str, chat: SimChat | None
) -> dict[str, Any]:
    data = next(
        b["callback_data"]
        for row in card["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == label
    )
    since = len(emu.requests)
    pressed = await emu.press_button(user, card["message_id"], data, chat)
    await settle(emu, since, 0.03, 15.0, lambda: app.dispatcher.in_flight == 0)
    return pressed


async def drained(services: Services, timeout: float = 15.0) -> None:
    """Until the outbox senders have sent every row that is due."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with services.uow() as uow:
            counts = (await uow.outbox.summary()).counts
        if not any(state in ("pending", "sending") for _lane, state in counts):
            return
        assert asyncio.get_running_loop().time() < deadline, counts
        await asyncio.sleep(0.05)


async def task_of(services: Services, kind: TaskKind, customer_id: int) -> Any:
    async with services.uow() as uow:
        found = [t for t in await uow.tasks.listing() if t.kind is kind]
    [task] = [t for t in found if t.customer_id == customer_id]
    return task


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_advisor_check_in_tasks_and_the_call_back(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    group = emu.add_forum_group("Care desk")
    supervisors = emu.add_group("Supervisors")
    sam = emu.add_user("Sam", username="sam")  # Ada's and Cy's advisor, an agent
    kim = emu.add_user("Kim", username="kim")  # another agent
    sue = emu.add_user("Sue", username="sue")  # a supervisor
    for user in (sam, kim, sue):
        emu.add_member(supervisors, user)
    settings = {
        **FAST_PACING,
        **NO_QUIET_HOURS,
        "staff_chat_id": group.id,
        "supervisor_chat_id": supervisors.id,
        "marketing_cap": 3,  # the event and the survey go out the same day as the check-in
    }
    clock = ShiftedClock()
    bot_db = tmp_path / "bot.db"
    async with running_bot(emu, bot_db, framework, clock=clock, **settings) as (app, services):
        await enroll_staff(services, sam, Role.AGENT)
        await enroll_staff(services, kim, Role.AGENT)
        await enroll_staff(services, sue, Role.SUPERVISOR)
        for staff in (sam, kim, sue):  # staff have a private chat with the bot
            await Chat(emu, staff, app).say("/help")
        ada, bo, cy, dee = (
            Chat(emu, emu.add_user(name, language_code=lang), app)
            for name, lang in (("Ada", "en"), ("Bo", "zh-hans"), ("Cy", "en"), ("Dee", "en"))
        )
        for chat in (ada, bo, cy, dee):
            await chat.say("/start")
        # Dee complains, then drifts away: dormant and unhappy with service.
        await dee.say("/complaint the kettle arrived broken, I want a refund")
        for label in ("Yes, that's right", "Skip", "Done"):
            await dee.press(label)
        ids = {
            "Ada": await standing(services, ada.user.id, "high", "active", advisor=sam.id),
            "Bo": await standing(services, bo.user.id, "high", "active"),  # no advisor
            "Cy": await standing(services, cy.user.id, "high", "active", advisor=sam.id),
            "Dee": await standing(services, dee.user.id, "mid", "dormant"),
        }

        await engagement.run(app.dispatcher)
        await drained(services)
        # The advisor's cards, in his private chat: who, tier, and no check-in to the customer.
        ada_card = card_about(emu, sam.id, "Ada")
        assert "high tier" in visible(ada_card["text"])
        assert "Last orders: none" in visible(ada_card["text"])
        labels = [b["text"] for row in ada_card["reply_markup"]["inline_keyboard"] for b in row]
        assert labels == ["Send the suggested message", "I contacted them", "Skip"]
        assert card_about(emu, sam.id, "Cy")
        assert not any(CHECKIN in t for t in ada.texts())
        # Bo has no advisor: his card is in the supervisors' chat; Dee's call-back too.
        bo_card = card_about(emu, supervisors.id, "Bo")
        dee_card = card_about(emu, supervisors.id, "Dee")
        assert "complaint on" in visible(dee_card["text"])
        dee_labels = [
            b["text"] for row in dee_card["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert dee_labels == ["I called them", "Could not reach"]
        assert any("senior member of our team will also call you back" in t for t in dee.texts())

        # Kim, an agent, presses Bo's card in the supervisors' chat, which is for supervisors
        # and above: refused courteously, nothing recorded. (Nobody but Sam can reach a button
        # in Sam's private chat; the role matrix is in tests/unit/test_staff_tasks.py.)
        pressed = await press(emu, app, kim, bo_card, "I contacted them", supervisors)
        answer = emu.callback_answer(pressed["callback_query"]["id"])
        assert answer is not None and "this task is for a supervisor" in answer.get("text", "")
        assert (await task_of(services, TaskKind.ADVISOR_CHECKIN, ids["Bo"])).state is (
            TaskState.OPEN
        )

        # Sam sends Ada the suggested message, twice: she gets it once.
        await press(emu, app, sam, ada_card, "Send the suggested message", None)
        await drained(services)
        assert sum(CHECKIN in t for t in ada.texts()) == 1
        task = await task_of(services, TaskKind.ADVISOR_CHECKIN, ids["Ada"])
        assert (task.state, task.choice, task.acted_by) == (
            TaskState.DONE,
            TaskChoice.SEND_MESSAGE,
            sam.id,
        )
        edited = [m for m in emu.bot_messages(sam.id) if m["message_id"] == ada_card["message_id"]]
        assert "Send the suggested message · Sam" in visible(edited[-1]["text"])
        with pytest.raises(LookupError):  # the card lost its buttons
            await press(emu, app, sam, ada_card, "Send the suggested message", None)

        # Sam skips Cy; Sue settles Bo's and Dee's cards.
        await press(emu, app, sam, card_about(emu, sam.id, "Cy"), "Skip", None)
        await press(emu, app, sue, bo_card, "I contacted them", supervisors)
        await press(emu, app, sue, dee_card, "I called them", supervisors)
        expected = {
            ("Cy", TaskKind.ADVISOR_CHECKIN): (TaskState.SKIPPED, TaskChoice.SKIP, sam.id),
            ("Bo", TaskKind.ADVISOR_CHECKIN): (TaskState.DONE, TaskChoice.CONTACTED, sue.id),
            ("Dee", TaskKind.CALLBACK): (TaskState.DONE, TaskChoice.CALLED, sue.id),
        }
        for (name, kind), want in expected.items():
            got = await task_of(services, kind, ids[name])
            assert (got.state, got.choice, got.acted_by) == want, name
        assert not any(CHECKIN in t for chat in (bo, cy) for t in chat.texts())

        # The playbook runs again this month: no new card, no second message.
        await engagement.run(app.dispatcher)
        await drained(services)
        assert len(cards(emu, sam.id)) == 2 and len(cards(emu, supervisors.id)) == 2
        assert sum(CHECKIN in t for t in ada.texts()) == 1

        # A month later: Sam has Ada's and Cy's next check-in cards (Dee's call-back waits its
        # 90 days).
        clock.advance(31 * 24 * 3600)
        await engagement.run(app.dispatcher)
        await drained(services)
        assert len(cards(emu, sam.id)) == 4 and len(cards(emu, supervisors.id)) == 3
        async with services.uow() as uow:
            opened = await uow.tasks.listing(open_only=True)
        assert sorted((t.kind.value, t.customer_id) for t in opened) == sorted(
            ("advisor_checkin", ids[name]) for name in ("Ada", "Bo", "Cy")
        )
