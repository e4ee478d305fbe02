"""The dispatcher and the inbox (issue #9): an update accepted but never handled is work, an
update handled already is a duplicate, and whatever the core does with an update — answer,
refuse, ignore — takes it out of the inbox, so "waiting" always means "to be handled"."""

from __future__ import annotations

import asyncio

from bot.core.messages import ChatKind, Incoming, Outgoing, Sent
from bot.core.models import Direction, LoggedMessage
from bot.core.ports import InboundUpdate
from tests.unit.conftest import ALICE, FakeBot


def _inbound(msg: Incoming) -> InboundUpdate:
    return InboundUpdate(msg.update_id, msg.chat_id, {"update_id": msg.update_id})


async def _waiting(bot: FakeBot) -> list[int]:
    return [u.update_id for u in await bot.dispatcher.waiting()]


async def test_an_accepted_update_is_handled_once_and_leaves_the_inbox(bot: FakeBot) -> None:
    msg = bot.incoming(ALICE, text="/help", command="help")
    assert await bot.dispatcher.accept([_inbound(msg)]) == [msg.update_id]
    assert await bot.dispatcher.accept([_inbound(msg)]) == []  # fetched again: not new
    assert await _waiting(bot) == [msg.update_id]
    await bot.feed(msg)
    assert bot.messenger.template_keys() == ["help.text"]
    assert await _waiting(bot) == []
    await bot.feed(msg)  # Telegram re-delivers it: a duplicate
    assert bot.messenger.template_keys() == ["help.text"]
    assert await bot.dispatcher.accept([_inbound(msg)]) == []


async def test_an_update_recorded_but_never_handled_is_handled_on_redelivery(
    bot: FakeBot,
) -> None:
    """The process died after the accept transaction and before delivery: the message log
    has the update, unhandled, and the inbox still holds it. It is work, not a duplicate."""
    msg = bot.incoming(ALICE, text="/help", command="help")
    await bot.dispatcher.accept([_inbound(msg)])
    async with bot.uow() as uow:
        await uow.messages.add(
            LoggedMessage(
                Direction.IN, chat_id=msg.chat_id, at=msg.date, text="/help", update_id=1
            )
        )
        await uow.commit()
    await bot.feed(msg)
    assert bot.messenger.template_keys() == ["help.text"]
    assert await _waiting(bot) == []
    inbound = [m for m in bot.uow.store.messages if m.direction is Direction.IN]
    assert len(inbound) == 1 and inbound[0].handled_at is not None
    await bot.feed(msg)
    assert bot.messenger.template_keys() == ["help.text"]


async def test_a_handled_update_not_in_the_inbox_stays_a_duplicate(bot: FakeBot) -> None:
    msg = bot.incoming(ALICE, text="/help", command="help")
    await bot.feed(msg)
    await bot.feed(msg)
    assert bot.messenger.template_keys() == ["help.text"]


async def test_updates_the_core_ignores_leave_the_inbox(bot: FakeBot) -> None:
    elsewhere = bot.incoming(ALICE, chat_id=-100777, chat_kind=ChatKind.SUPERGROUP, text="hi")
    unrouted = bot.incoming(ALICE, text="edit", edited=True)
    await bot.dispatcher.accept([_inbound(elsewhere), _inbound(unrouted)])
    await bot.feed(elsewhere)
    await bot.feed(unrouted)
    assert bot.messenger.template_keys() == []
    assert await _waiting(bot) == []


async def test_waiting_pages_oldest_first(bot: FakeBot) -> None:
    updates = [InboundUpdate(i, 1, {"update_id": i}) for i in (5, 3, 9, 4)]
    assert await bot.dispatcher.accept(updates) == [5, 3, 9, 4]
    assert [u.update_id for u in await bot.dispatcher.waiting(limit=2)] == [3, 4]
    assert [u.update_id for u in await bot.dispatcher.waiting(4, 2)] == [5, 9]


async def test_a_closing_dispatcher_finishes_what_it_began_and_begins_nothing(
    bot: FakeBot,
) -> None:
    first = bot.incoming(ALICE, text="/help", command="help")
    second = bot.incoming(ALICE, text="/help", command="help")
    await bot.dispatcher.accept([_inbound(first), _inbound(second)])
    gate = asyncio.Event()
    send = bot.messenger.send

    async def held_send(message: Outgoing) -> Sent:
        await gate.wait()
        return await send(message)

    bot.messenger.send = held_send  # type: ignore[method-assign]
    began = asyncio.create_task(bot.feed(first))
    await asyncio.sleep(0.01)  # the first is sending its answer
    queued = asyncio.create_task(bot.feed(second))  # waits for the chat's turn
    await asyncio.sleep(0.01)
    bot.dispatcher.close()
    gate.set()
    await asyncio.gather(began, queued)
    assert bot.messenger.template_keys() == ["help.text"]
    assert await _waiting(bot) == [second.update_id]
