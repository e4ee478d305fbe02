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

import pytest

from bot.app.settings import Framework
from bot.core.services.erasure import forget_customer
from sandbox import Emulator
from tests.e2e.conftest import FRAMEWORKS, running_bot
from tests.e2e.test_complaints import desk_settings, open_ticket_through, staff_desk

pytestmark = pytest.mark.e2e

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
        while True:  # the card is shown; wait until its sending is recorded too
            async with services.uow() as uow:
                counts = (await uow.outbox.summary()).counts
            if not any(state in ("pending", "sending") for _lane, state in counts):
                break
            await asyncio.sleep(0.05)
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
                not any(
                    "Petrakova" in shown(m) or "kettle" in shown(m)
                    for m in emu.bot_messages(staff.group.id)
                )
                and not any("Olga" in topic.name for topic in emu.topics(staff.group.id))
            )
        )
    assert [topic.name for topic in emu.topics(staff.group.id)] == [
        "T-000001 · quality · 🔒 erased" for _ in topics_before
    ]
    staff_view = emu.bot_messages(staff.group.id)
    redacted = [m for m in staff_view if NOTICE in shown(m)]
    assert len(redacted) + len(topics_before) == queued, [shown(m) for m in staff_view]
    assert all(not m.get("reply_markup", {}).get("inline_keyboard") for m in redacted)
    own = emu.bot_messages(olga.id)  # her own chat is hers: not touched
    assert own and not any(NOTICE in shown(m) for m in own)


def shown(message: dict[str, object]) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def until(condition: object, timeout: float = 20.0) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)
