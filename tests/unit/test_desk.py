"""The agent desk in direct mode, through the real dispatcher, handlers and templates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.errors import ChatBlocked
from bot.core.messages import ContentKind, Sender
from bot.core.models import Direction
from bot.core.roles import Role
from bot.core.services.staff import enroll
from bot.core.tickets import EventKind, TicketState
from tests.unit.conftest import ALICE, WANG, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain

SAM = Sender(id=9001, first_name="Sam", last_name="Lee")


@pytest.fixture
async def desk(bot: FakeBot) -> FakeBot:
    bot.configure(staff_chat_id=STAFF_GROUP)
    async with bot.deps.uow() as uow:
        await enroll(uow, SAM.id, "Sam Lee", Role.AGENT, bot.clock.now())
        await uow.commit()
    return bot


async def take_over(bot: FakeBot, who: Sender = ALICE) -> int:
    await complain(bot, who, "the kettle arrived broken, I want a refund")
    ticket = max(bot.uow.store.tickets.values(), key=lambda t: t.id or 0)
    await bot.press_in_group(SAM, STAFF_GROUP, f"tko:{ticket.id}")
    assert ticket.id is not None
    return ticket.id


def relayed_to_agent(bot: FakeBot) -> list[int]:
    """Telegram ids of the messages the bot put into the agent's private chat."""
    return [
        m.telegram_message_id or 0
        for m in bot.uow.store.messages
        if m.direction is Direction.OUT and m.chat_id == SAM.id
    ]


async def agent_says(
    bot: FakeBot,
    text: str,
    reply_to: int | None = None,
    command: str | None = None,
    args: str = "",
) -> None:
    await bot.feed(
        bot.incoming(SAM, text=text, command=command, args=args, reply_to_message_id=reply_to)
    )


async def test_take_over_tells_customer_and_agent_and_starts_the_response(desk: FakeBot) -> None:
    ticket_id = await take_over(desk)
    joined = desk.messenger.assert_sent("desk.joined")
    assert joined.chat_id == ALICE.id and "Sam from our team" in joined.text
    taken = desk.messenger.assert_sent("desk.taken")
    assert taken.chat_id == SAM.id and "kettle" in taken.text
    ticket = desk.uow.store.tickets[ticket_id]
    assert ticket.state is TicketState.INVESTIGATING and ticket.first_response_at is not None
    assert desk.uow.store.takeovers[ALICE.id].agent_user_id == SAM.id


async def test_the_conversation_runs_through_the_agents_private_chat(desk: FakeBot) -> None:
    await take_over(desk)
    desk.messenger.sent.clear()
    await desk.say(ALICE, "How long does delivery take?")  # an FAQ question, but a person has it
    [relay] = desk.messenger.sent
    assert relay.chat_id == SAM.id and relay.template_key == "desk.from_customer"
    assert "How long does delivery take?" in relay.text and "Alice Smith" in relay.text
    await desk.feed(desk.incoming(ALICE, content=ContentKind.PHOTO, file_id="P1", message_id=4242))
    photo = desk.messenger.sent[-1]
    assert (photo.chat_id, photo.copy_from_chat_id, photo.copy_message_id) == (
        SAM.id,
        ALICE.id,
        4242,
    )
    await agent_says(
        desk, "So sorry! A new kettle is on its way.", reply_to=relayed_to_agent(desk)[-1]
    )
    back = desk.messenger.sent[-1]
    assert back.chat_id == ALICE.id and back.copy_from_chat_id == SAM.id  # copied: no name


async def test_replies_can_be_signed_with_the_agents_first_name(desk: FakeBot) -> None:
    desk.configure(desk_sign_replies=True)
    await take_over(desk)
    await agent_says(desk, "A new kettle is on its way.")
    signed = desk.messenger.sent[-1]
    assert signed.chat_id == ALICE.id and signed.text.endswith("— Sam")


async def test_a_note_stays_internal(desk: FakeBot) -> None:
    ticket_id = await take_over(desk)
    before = [m for m in desk.messenger.sent if m.chat_id == ALICE.id]
    await agent_says(
        desk, "/note customer sounds upset", command="note", args="customer sounds upset"
    )
    assert [m for m in desk.messenger.sent if m.chat_id == ALICE.id] == before
    assert desk.messenger.sent[-1].template_key == "desk.note_saved"
    notes = [
        e.note
        for e in desk.uow.store.events
        if e.ticket_id == ticket_id and e.kind is EventKind.NOTE
    ]
    assert "customer sounds upset" in notes


async def test_release_hands_the_chat_back_to_the_bot(desk: FakeBot) -> None:
    await take_over(desk)
    await agent_says(desk, "/release", command="release")
    assert ALICE.id not in desk.uow.store.takeovers
    assert desk.messenger.sent_with("desk.released")[-1].chat_id == ALICE.id
    await desk.say(ALICE, "/help")
    assert desk.messenger.sent[-1].template_key == "help.text"


async def test_resolve_from_the_desk(desk: FakeBot) -> None:
    ticket_id = await take_over(desk)
    await agent_says(desk, "/resolve replacement sent", command="resolve", args="replacement sent")
    assert desk.uow.store.tickets[ticket_id].state is TicketState.RESOLVED
    assert ALICE.id not in desk.uow.store.takeovers
    resolved = desk.messenger.assert_sent("ticket.update.resolved")
    assert resolved.chat_id == ALICE.id and "replacement sent" in resolved.text


async def test_the_agent_hears_when_the_customer_cannot_be_reached(desk: FakeBot) -> None:
    await take_over(desk)
    desk.messenger.fail_with = [ChatBlocked("Forbidden: bot was blocked by the user")]
    await agent_says(desk, "Are you still there?")
    notice = desk.messenger.sent[-1]
    assert notice.chat_id == SAM.id and notice.template_key == "desk.undeliverable"
    assert "blocked the bot" in notice.text


async def test_with_two_chats_the_agent_must_reply_to_a_message(desk: FakeBot) -> None:
    await take_over(desk, ALICE)
    await take_over(desk, WANG)
    await agent_says(desk, "Hello")
    assert desk.messenger.sent[-1].template_key == "desk.which_customer"
    await desk.say(WANG, "还在吗")
    await agent_says(desk, "在的", reply_to=relayed_to_agent(desk)[-1])
    assert desk.messenger.sent[-1].chat_id == WANG.id


async def test_someone_off_the_roster_is_just_a_customer(desk: FakeBot) -> None:
    await take_over(desk)
    stranger = Sender(id=4444, first_name="Eve")
    await desk.feed(desk.incoming(stranger, text="/release", command="release"))
    assert ALICE.id in desk.uow.store.takeovers
    assert desk.messenger.sent[-1].chat_id == stranger.id


async def test_resolving_from_the_desk_schedules_the_after_sales_revisit(desk: FakeBot) -> None:
    from tests.fakes import RecordingScheduler

    scheduler = RecordingScheduler()
    desk.dispatcher.deps = replace(desk.dispatcher.deps, scheduler=scheduler)
    ticket_id = await take_over(desk)
    await agent_says(desk, "/resolve replacement sent", command="resolve", args="replacement sent")
    assert f"revisit-ticket-{ticket_id}" in scheduler.jobs
