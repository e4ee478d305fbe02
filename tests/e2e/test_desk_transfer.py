"""/transfer end to end through aiogram AND python-telegram-bot against the emulator: an agent
takes a chat over and passes it to a colleague, who carries on the conversation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.roles import Role
from sandbox import Emulator
from sandbox.scenario import Persona, Press, Say, Staff, StaffPress, play
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, enroll_staff, running_bot

pytestmark = BOT_DATABASE

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_agent_transfers_the_chat_to_a_colleague(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    group = emu.add_forum_group("Care desk")
    sam = emu.add_user("Sam", username="sam")
    kim = emu.add_user("Kim", username="kim")
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
        await enroll_staff(services, sam, Role.AGENT)
        await enroll_staff(services, kim, Role.AGENT)
        transcript = await play(
            emu, [alice], staff=Staff(group, sam), idle=lambda: app.dispatcher.in_flight == 0
        )
        customer = transcript.users["Alice"]
        assert any("You have taken over" in m["text"] for m in emu.bot_messages(sam.id))

        emu.mark()
        await emu.send_text(sam, f"/transfer {kim.id} refund approved, please ship")
        [told] = await emu.wait_for(
            "sendMessage",
            chat_id=customer.id,
            predicate=lambda r: "is now helping you" in r.params.get("text", ""),
            timeout=10,
        )
        assert "Kim from our team" in told.params["text"]
        [handed] = await emu.wait_for("sendMessage", chat_id=kim.id, timeout=10)
        assert "has passed" in handed.params["text"] and "refund approved" in handed.params["text"]
        await emu.wait_for(
            "sendMessage",
            chat_id=sam.id,
            predicate=lambda r: "You have passed" in r.params.get("text", ""),
            timeout=10,
        )

        # The customer now reaches Kim, and Kim's answer reaches the customer.
        emu.mark()
        await emu.send_text(customer, "When will it arrive?")
        [relayed] = await emu.wait_for("sendMessage", chat_id=kim.id, timeout=10)
        assert "When will it arrive?" in relayed.params["text"]
        emu.mark()
        await emu.send_text(kim, "Tomorrow morning.")
        [copy] = await emu.wait_for("copyMessage", chat_id=customer.id, timeout=10)
        assert copy.params["from_chat_id"] == kim.id

        async with services.uow() as uow:
            [ticket] = await uow.tickets.created_between(EPOCH, services.clock.now())
            events = await uow.tickets.events(ticket.id or 0)
            takeover = await uow.desk.active(customer.id)
    assert takeover is not None and takeover.agent_user_id == kim.id
    [moved] = [e for e in events if e.data and "transfer" in e.data]
    assert moved.actor == f"staff:{sam.id}" and moved.data["transfer"]["to"] == kim.id
