"""Forum topics: a topic per ticket for its card, recreated if deleted; topic-mode desk."""

from __future__ import annotations

import pytest

from bot.core.messages import ChatKind, Sender
from bot.core.roles import Role
from bot.core.services.staff import enroll
from bot.core.tickets import EventKind, TicketState
from tests.unit.conftest import ALICE, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain

SAM = Sender(id=9001, first_name="Sam")


@pytest.fixture
async def forum(bot: FakeBot) -> FakeBot:
    bot.configure(staff_chat_id=STAFF_GROUP)
    async with bot.deps.uow() as uow:
        await enroll(uow, SAM.id, "Sam", Role.AGENT, bot.clock.now())
        await uow.commit()
    return bot


async def test_each_ticket_gets_a_topic_named_and_coloured_for_it(forum: FakeBot) -> None:
    await complain(forum, ALICE, "the kettle arrived broken, I want a refund")
    [(chat, thread, name, colour)] = forum.messenger.topics
    [ticket] = forum.uow.store.tickets.values()
    assert chat == STAFF_GROUP and name == f"{ticket.number} · quality · Alice Smith"
    assert colour == 0xFFD67E
    card = forum.messenger.assert_sent("staff.ticket_card")
    assert card.thread_id == thread
    assert forum.uow.store.topics[(ticket.id or 0, STAFF_GROUP)] == thread


async def test_a_deleted_topic_is_recreated_and_nothing_is_lost(forum: FakeBot) -> None:
    forum.configure(desk_mode="topic")
    await complain(forum, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = forum.uow.store.tickets.values()
    first = forum.messenger.topics[0][1]
    forum.messenger.deleted_threads.add(first)  # someone deleted the ticket's topic
    await forum.press_in_group(SAM, STAFF_GROUP, f"tko:{ticket.id}")
    assert len(forum.messenger.topics) == 2
    second = forum.messenger.topics[1][1]
    assert forum.messenger.assert_sent("desk.taken").thread_id == second
    assert forum.uow.store.topics[(ticket.id or 0, STAFF_GROUP)] == second
    await forum.say(ALICE, "are you there?")  # the customer's words reach the new topic
    assert forum.messenger.sent[-1].thread_id == second


async def test_in_topic_mode_the_conversation_runs_in_the_tickets_topic(forum: FakeBot) -> None:
    forum.configure(desk_mode="topic")
    await complain(forum, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = forum.uow.store.tickets.values()
    thread = forum.messenger.topics[0][1]
    await forum.press_in_group(SAM, STAFF_GROUP, f"tko:{ticket.id}")
    taken = forum.messenger.assert_sent("desk.taken")
    assert (taken.chat_id, taken.thread_id) == (STAFF_GROUP, thread)
    await forum.say(ALICE, "the lid will not close")
    relay = forum.messenger.sent[-1]
    assert (relay.chat_id, relay.thread_id, relay.template_key) == (
        STAFF_GROUP,
        thread,
        "desk.from_customer",
    )

    async def sam(text: str, command: str | None = None, args: str = "") -> None:
        await forum.feed(
            forum.incoming(
                SAM,
                chat_id=STAFF_GROUP,
                chat_kind=ChatKind.SUPERGROUP,
                text=text,
                command=command,
                args=args,
                thread_id=thread,
                is_topic_message=True,
            )
        )

    await sam("A new kettle ships today.")
    back = forum.messenger.sent[-1]
    assert back.chat_id == ALICE.id and back.copy_from_chat_id == STAFF_GROUP
    await sam("/note approved by Max", "note", "approved by Max")
    note = forum.messenger.sent[-1]
    assert note.template_key == "desk.note_saved" and note.thread_id == thread
    await sam("/resolve shipped", "resolve", "shipped")
    assert forum.uow.store.tickets[ticket.id or 0].state is TicketState.RESOLVED
    events = [e.kind for e in forum.uow.store.events if e.ticket_id == ticket.id]
    assert EventKind.NOTE in events


async def test_writing_in_a_topic_nobody_took_over_gets_a_pointer(forum: FakeBot) -> None:
    await complain(forum, ALICE, "the kettle arrived broken, I want a refund")
    thread = forum.messenger.topics[0][1]
    await forum.feed(
        forum.incoming(
            SAM,
            chat_id=STAFF_GROUP,
            chat_kind=ChatKind.SUPERGROUP,
            text="hello?",
            thread_id=thread,
            is_topic_message=True,
        )
    )
    pointer = forum.messenger.sent[-1]
    assert pointer.template_key == "desk.take_over_first" and pointer.thread_id == thread
    assert not [
        m
        for m in forum.messenger.sent
        if m.chat_id == ALICE.id and m.copy_from_chat_id is not None
    ]


async def test_the_topic_says_so_when_the_customer_blocks_the_bot(forum: FakeBot) -> None:
    from bot.core.errors import ChatBlocked

    await complain(forum, ALICE, "the kettle arrived broken, I want a refund")
    thread = forum.messenger.topics[0][1]
    forum.messenger.fail_with = [ChatBlocked("Forbidden: bot was blocked by the user")]
    await forum.say(ALICE, "/help")  # the answer cannot be delivered: Alice blocked the bot
    notice = forum.messenger.assert_sent("staff.customer_unreachable")
    assert notice.thread_id == thread and "blocked the bot" in notice.text


async def test_an_edit_reaches_the_agent_who_has_the_chat(forum: FakeBot) -> None:
    await complain(forum, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = forum.uow.store.tickets.values()
    await forum.press_in_group(SAM, STAFF_GROUP, f"tko:{ticket.id}")
    await forum.feed(forum.incoming(ALICE, text="the LID is broken", edited=True))
    edited = forum.messenger.sent[-1]
    assert edited.template_key == "desk.from_customer_edited" and edited.chat_id == SAM.id
    await forum.feed(forum.incoming(SAM, text="/release", command="release"))
    before = len(forum.messenger.sent)
    await forum.feed(forum.incoming(ALICE, text="the lid, I mean", edited=True))
    assert len(forum.messenger.sent) == before  # without an agent, edits are let be
