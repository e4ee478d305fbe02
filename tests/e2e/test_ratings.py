"""Ratings end to end through aiogram AND python-telegram-bot against the emulator: a complaint
is resolved from the staff group, the customer rates it 2, the ticket is reopened and a
supervisor is alerted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.tickets import EventKind, TicketState
from sandbox import Emulator
from sandbox.scenario import Persona, Press, Say, Staff, play
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import (
    A_COMPLAINT_RESOLVED,
    FAST_PACING,
    FRAMEWORKS,
    enroll_staff,
    running_bot,
)

pytestmark = BOT_DATABASE


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_low_rating_reopens_the_ticket_and_alerts_the_staff(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    group = fast_emulator.add_forum_group("Care desk")
    staff = Staff(group, fast_emulator.add_user("Sam", username="sam"))
    supervisor = fast_emulator.add_user("Sue", username="sue_sup")
    rita = Persona(
        "Rita",
        "en",
        (
            *A_COMPLAINT_RESOLVED,
            Press("2 ⭐"),
            Say("nobody asked what went wrong"),
        ),
    )
    settings = {"staff_chat_id": group.id, "supervisor_chat_id": supervisor.id, **FAST_PACING}
    async with running_bot(fast_emulator, tmp_path / "bot.db", framework, **settings) as (
        app,
        services,
    ):
        await enroll_staff(services, staff.member)
        transcript = await play(
            fast_emulator, [rita], staff=staff, idle=lambda: app.dispatcher.in_flight == 0
        )
        user = transcript.users["Rita"]
        async with services.uow() as uow:
            customer = await uow.customers.get_by_chat_id(user.id)
            assert customer is not None and customer.id is not None
            [ticket] = await uow.tickets.open_for_customer(customer.id)
            assert ticket.id is not None
            history = await uow.tickets.events(ticket.id)
            rating = await uow.ratings.get(ticket.id)
            revisit = await uow.ratings.get_revisit(ticket.id)
    assert ticket.state is TicketState.INVESTIGATING
    kinds = [e.kind for e in history]
    assert kinds[-3:] == [EventKind.RATED, EventKind.REOPENED, EventKind.NOTE]
    assert rating is not None and rating.score == 2
    assert rating.comment == "nobody asked what went wrong"
    assert revisit is not None and revisit.sent_at is None  # planned; skipped when due
    said = transcript.bot_texts()
    assert any("how did we do" in s for s in said)  # the question, since edited to the answer
    assert any("you rated us 2 ⭐" in m["text"] for m in fast_emulator.bot_messages(user.id))
    assert any("I am so sorry we let you down" in s for s in said)
    for chat in (group.id, supervisor.id):
        texts = [m["text"] for m in fast_emulator.bot_messages(chat)]
        assert any("Low rating 2/5" in t and ticket.number in t for t in texts), chat
        assert any("nobody asked what went wrong" in t for t in texts), chat
