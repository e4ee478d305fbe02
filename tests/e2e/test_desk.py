"""The agent desk end to end through aiogram AND python-telegram-bot against the emulator:
complaint → card → take over → messages of several kinds both ways → an internal note that
stays internal → resolve."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.tickets import EventKind, TicketState
from sandbox import Emulator
from sandbox.scenario import Persona, Press, Say, Staff, StaffPress, play
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, enroll_staff, running_bot

pytestmark = BOT_DATABASE

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_agent_takes_over_and_resolves(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    group = emu.add_forum_group("Care desk")
    sam = emu.add_user("Sam", username="sam")
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
        ),
    )
    async with running_bot(
        emu, tmp_path / "bot.db", framework, staff_chat_id=group.id, **FAST_PACING
    ) as (app, services):
        await enroll_staff(services, sam)
        transcript = await play(
            emu, [alice], staff=staff, idle=lambda: app.dispatcher.in_flight == 0
        )
        customer = transcript.users["Alice"]
        assert any("Sam from our team" in m["text"] for m in emu.bot_messages(customer.id))
        assert any("You have taken over" in m["text"] for m in emu.bot_messages(sam.id))

        # The customer writes and sends a photo: both reach Sam, and the bot stays quiet.
        emu.mark()
        await emu.send_text(customer, "It is the lid, it will not close")
        [text] = await emu.wait_for("sendMessage", chat_id=sam.id, timeout=10)
        assert "It is the lid" in text.params["text"]
        emu.mark()  # an edit reaches Sam too
        sent_text = next(
            m
            for m in reversed(emu.world.chat(customer.id).messages.values())
            if m.get("text") == "It is the lid, it will not close"
        )
        await emu.edit_user_message(customer, sent_text["message_id"], "It is the LID")
        [edit] = await emu.wait_for("sendMessage", chat_id=sam.id, timeout=10)
        assert "It is the LID" in edit.params["text"] and "✏️" in edit.params["text"]
        emu.mark()
        await emu.send_message(customer, photo=True, caption="see")
        [photo] = await emu.wait_for("copyMessage", chat_id=sam.id, timeout=10)
        assert photo.params["from_chat_id"] == customer.id

        # Sam answers by replying to the relayed text; the customer gets a copy.
        relayed = text.response["result"]["message_id"]
        emu.mark()
        await emu.send_text(sam, "So sorry! A new kettle ships today.")
        [copy] = await emu.wait_for("copyMessage", chat_id=customer.id, timeout=10)
        assert copy.params["from_chat_id"] == sam.id
        emu.mark()
        await emu.send_message(sam, text="Tracking: 7781", reply_to_message_id=relayed)
        await emu.wait_for("copyMessage", chat_id=customer.id, timeout=10)

        # An internal note never reaches the customer.
        emu.mark()
        since = len(emu.requests)
        await emu.send_text(sam, "/note refund approved by Max")
        await emu.wait_for("sendMessage", chat_id=sam.id, timeout=10)
        assert not [r for r in emu.requests[since:] if r.chat_id == customer.id]

        emu.mark()
        await emu.send_text(sam, "/resolve replacement shipped")
        await emu.wait_for(
            "sendMessage",
            chat_id=customer.id,
            predicate=lambda r: "is resolved" in r.params.get("text", ""),
            timeout=10,
        )
        async with services.uow() as uow:
            [ticket] = await uow.tickets.created_between(EPOCH, services.clock.now())
            events = await uow.tickets.events(ticket.id or 0)
            still_taken = await uow.desk.active(customer.id)
    assert ticket.state is TicketState.RESOLVED and still_taken is None
    notes = [e.note for e in events if e.kind is EventKind.NOTE]
    assert "refund approved by Max" in notes
    assert all(
        "refund approved" not in m["text"] for m in emu.bot_messages(customer.id) if m.get("text")
    )
