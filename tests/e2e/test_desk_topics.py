"""Issue #4's end-to-end scenario in topic mode, through aiogram AND python-telegram-bot:
complaint → topic created with card → agent takes over → messages of several kinds both ways
→ an internal note stays internal → resolve → rating 2 → ticket reopened, supervisor alerted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.tickets import TicketState
from sandbox import Emulator
from sandbox.scenario import Persona, Press, Say, SendPhoto, Staff, StaffPress, play
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, enroll_staff, running_bot

pytestmark = BOT_DATABASE

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_the_desk_in_topic_mode(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    group = emu.add_forum_group("Care desk")
    sam, sue = emu.add_user("Sam", username="sam"), emu.add_user("Sue", username="sue")
    staff = Staff(group, sam)
    alice = Persona(
        "Alice",
        "en",
        (
            Say("the kettle arrived broken, I want a refund"),
            Press("Yes"),
            Press("Skip"),
            Press("Done"),
            StaffPress("Take over"),
            Say("The lid will not close"),
            SendPhoto("here is the lid"),
        ),
    )
    settings = {
        "staff_chat_id": group.id,
        "supervisor_chat_id": sue.id,
        "desk_mode": "topic",
        **FAST_PACING,
    }
    async with running_bot(emu, tmp_path / "bot.db", framework, **settings) as (app, services):
        await enroll_staff(services, sam)
        transcript = await play(
            emu, [alice], staff=staff, idle=lambda: app.dispatcher.in_flight == 0
        )
        customer = transcript.users["Alice"]
        [topic] = emu.topics(group.id)
        assert topic.name.startswith("T-000001 · quality · Alice")
        in_topic = emu.bot_messages(group.id, thread_id=topic.message_thread_id)
        assert any("🎫" in m["text"] for m in in_topic if m.get("text"))  # the card
        assert any("The lid will not close" in m.get("text", "") for m in in_topic)
        copies = [
            r for r in emu.requests if r.method == "copyMessage" and r.ok and r.chat_id == group.id
        ]
        assert copies and copies[-1].params["message_thread_id"] == topic.message_thread_id

        # Sam answers in the topic with text and a document; both reach Alice as copies.
        emu.mark()
        await emu.send_message(
            sam,
            chat=group,
            thread_id=topic.message_thread_id,
            text="So sorry! A new kettle ships today.",
        )
        await emu.send_message(
            sam,
            chat=group,
            thread_id=topic.message_thread_id,
            document=True,
            caption="your return label",
        )
        await emu.wait_for("copyMessage", chat_id=customer.id, count=2, timeout=10)

        # An internal note stays in the topic.
        emu.mark()
        since = len(emu.requests)
        await emu.send_message(
            sam, chat=group, thread_id=topic.message_thread_id, text="/note refund approved by Max"
        )
        await emu.wait_for("sendMessage", chat_id=group.id, timeout=10)
        assert not [r for r in emu.requests[since:] if r.chat_id == customer.id]

        # Resolve, then Alice rates 2: the ticket reopens and the supervisor hears of it.
        emu.mark()
        await emu.send_message(
            sam, chat=group, thread_id=topic.message_thread_id, text="/resolve replacement shipped"
        )
        await emu.wait_for(
            "sendMessage",
            chat_id=customer.id,
            predicate=lambda r: "⭐" in str(r.params.get("reply_markup")),
            timeout=10,
        )
        rating = next(m for m in reversed(emu.bot_messages(customer.id)) if m.get("reply_markup"))
        two = next(
            b["callback_data"]
            for row in rating["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"].startswith("2")
        )
        emu.mark()
        await emu.press_button(customer, rating["message_id"], two)
        await emu.wait_for("sendMessage", chat_id=sue.id, timeout=10)
        async with services.uow() as uow:
            [ticket] = await uow.tickets.created_between(EPOCH, services.clock.now())
    assert ticket.state is TicketState.INVESTIGATING  # reopened
    assert all(
        "refund approved" not in (m.get("text") or "") for m in emu.bot_messages(customer.id)
    )
