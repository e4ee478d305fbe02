"""Erase means erased in Telegram too (issue #14), through aiogram AND python-telegram-bot.

A customer complains with their name and words; the ticket card and its updates reach the
staff group. Then the customer is forgotten while the bot runs: every message the bot posted
about them in the staff group is replaced by the erasure notice by the running bot's outbox,
so no staff member scrolling back sees their name or words, and in topic mode their
ticket's topic, whose title carried their name, is renamed to its number and severity; their
own chat is left alone (Telegram keeps it for them).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.app.bootstrap import Services
from bot.app.settings import Framework
from bot.core.services.erasure import forget_customer
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS, enroll_staff, running_bot
from tests.e2e.test_complaints import desk_settings, open_ticket_through, staff_desk

pytestmark = [pytest.mark.e2e, BOT_DATABASE]

NOTICE = "This message was removed"


@pytest.mark.parametrize("staff_topics", [True, False])
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_forgetting_a_customer_redacts_what_staff_chats_show(
    framework: Framework, staff_topics: bool, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    staff, sue, max_ = staff_desk(emu)
    olga = emu.add_user("Olga", last_name="Petrakova", language_code="en")
    settings = {
        **desk_settings(staff, sue, max_),
        "outbox_poll_seconds": 0.1,
        "staff_topics": staff_topics,
    }
    async with running_bot(emu, tmp_path / "bot.db", framework, **settings) as (bot, services):
        await open_ticket_through(emu, olga)

        await until(lambda: any("Petrakova" in shown(m) for m in emu.bot_messages(staff.group.id)))
        topics_before = [topic.name for topic in emu.topics(staff.group.id)]
        assert len(topics_before) == staff_topics, topics_before
        assert all("Petrakova" in name for name in topics_before)
        await settled(services)  # the card is shown; wait until its sending is recorded too
        await enroll_staff(services, staff.member)  # Sam takes the chat over from the card
        [card] = [m for m in emu.bot_messages(staff.group.id) if "🎫" in shown(m)]
        emu.mark()
        await emu.press_button(staff.member, card["message_id"], "tko:1", chat=staff.group)
        await emu.wait_for("sendMessage", chat_id=olga.id, timeout=10)
        emu.mark()  # her photo is relayed to Sam's private chat as a copy
        await emu.send_message(olga, photo=True, caption="the lid, Olga Petrakova")
        await emu.wait_for("copyMessage", chat_id=staff.member.id, timeout=10)
        [relay] = [m for m in emu.bot_messages(staff.member.id) if "photo" in m]

        def staff_chats() -> list[dict[str, Any]]:
            return [*emu.bot_messages(staff.group.id), *emu.bot_messages(staff.member.id)]

        await settled(services)
        async with services.uow() as uow:
            customer = await uow.customers.get_by_chat_id(olga.id)
            assert customer is not None and customer.id is not None
            queued = await forget_customer(
                uow, bot.deps.renderer, "en", customer.id, services.clock.now()
            )
            await uow.commit()
        assert queued >= 1
        await until(
            lambda: (
                not any("Petrakova" in shown(m) or "kettle" in shown(m) for m in staff_chats())
                and not any("Olga" in topic.name for topic in emu.topics(staff.group.id))
            )
        )
    assert [topic.name for topic in emu.topics(staff.group.id)] == [
        "T-000001 · quality · 🔒 erased" for _ in topics_before
    ]
    staff_view = staff_chats()
    redacted = [m for m in staff_view if NOTICE in shown(m)]
    sams = [m["message_id"] for m in emu.bot_messages(staff.member.id)]
    assert relay["message_id"] not in sams  # the relayed photo is deleted
    assert len(redacted) + 1 + len(topics_before) == queued, [shown(m) for m in staff_view]
    assert all(not m.get("reply_markup", {}).get("inline_keyboard") for m in redacted)
    own = emu.bot_messages(olga.id)  # her own chat is hers: not touched
    assert own and not any(NOTICE in shown(m) for m in own)


async def settled(services: Services) -> None:
    """Until every outbox row is sent (and so recorded in the message log)."""
    while True:
        async with services.uow() as uow:
            counts = (await uow.outbox.summary()).counts
        if not any(state in ("pending", "sending") for _lane, state in counts):
            return
        await asyncio.sleep(0.05)


def shown(message: dict[str, object]) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def until(condition: object, timeout: float = 20.0) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)
