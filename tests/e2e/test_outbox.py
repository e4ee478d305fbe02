"""The outbox end to end through aiogram AND python-telegram-bot against the emulator: an SLA
warning and an after-sales revisit reach Telegram through the outbox exactly once, however
many sweeps run; and a row a crashed job had committed but not sent goes out at the next
start."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.messages import Reply
from bot.core.outbox import Lane, OutboxState, enqueue
from bot.core.tickets import TicketState
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE, bot_database_url, read_rows
from tests.e2e.conftest import FRAMEWORKS, running_bot
from tests.e2e.test_complaints import desk_settings, open_ticket_through, staff_desk, wait_until
from tests.fakes import ShiftedClock

pytestmark = BOT_DATABASE


async def job_rows(database: Path, prefix: str) -> list[tuple[str, str]]:
    """(key, state) of the outbox rows a job wrote (the bot's answers are rows too)."""
    rows = read_rows(
        await bot_database_url(database),
        "SELECT idempotency_key, state FROM outbox WHERE idempotency_key LIKE :p ORDER BY id",
        p=prefix + "%",
    )
    return [(str(k), str(s)) for k, s in rows]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_sla_warning_goes_through_the_outbox_once(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    staff, sue, max_ = staff_desk(fast_emulator)
    clock = ShiftedClock()
    user = fast_emulator.add_user("Olga", language_code="en")
    settings = {**desk_settings(staff, sue, max_), "outbox_poll_seconds": 0.1}
    async with running_bot(
        fast_emulator, tmp_path / "bot.db", framework, clock=clock, **settings
    ) as (
        _,
        services,
    ):
        await open_ticket_through(fast_emulator, user)
        clock.advance(100 * 60)  # 83 % of the two-hour first-response target
        async with services.uow() as uow:
            [ticket] = await uow.tickets.open_tickets()
        key = f"sla:{ticket.id}:warn_first_response:{staff.group.id}"

        async def sent() -> bool:
            return await job_rows(tmp_path / "bot.db", "sla:") == [(key, "sent")]

        await wait_until(sent)
        await asyncio.sleep(2.5)  # more sweeps and sender rounds run; none may send again
    warnings = [m for m in fast_emulator.bot_messages(staff.group.id) if "⚠️" in m["text"]]
    assert len(warnings) == 1, warnings
    assert await job_rows(tmp_path / "bot.db", "sla:") == [(key, "sent")]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_revisit_goes_through_the_outbox_once(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    staff, sue, max_ = staff_desk(fast_emulator)
    user = fast_emulator.add_user("Pia", language_code="en")
    settings = {
        **desk_settings(staff, sue, max_),
        "revisit_sweep_seconds": 1,
        "outbox_poll_seconds": 0.1,
    }
    async with running_bot(fast_emulator, tmp_path / "bot.db", framework, **settings) as (
        _,
        services,
    ):
        await open_ticket_through(fast_emulator, user)
        async with services.uow() as uow:  # resolved a week ago, its revisit due now
            [ticket] = await uow.tickets.open_tickets()
            assert ticket.id is not None
            await uow.tickets.update(replace(ticket, state=TicketState.RESOLVED))
            now = services.clock.now()
            await uow.ratings.plan_revisit(ticket.id, ticket.customer_id, now - timedelta(1))
            await uow.commit()

        async def asked() -> bool:
            return await job_rows(tmp_path / "bot.db", "revisit:") == [
                (f"revisit:{ticket.id}", "sent")
            ]

        await wait_until(asked)
        await asyncio.sleep(2.5)  # more sweeps run; none may ask again
        async with services.uow() as uow:
            revisit = await uow.ratings.get_revisit(ticket.id)
    assert await job_rows(tmp_path / "bot.db", "revisit:") == [(f"revisit:{ticket.id}", "sent")]
    assert revisit is not None and revisit.sent_at is not None
    revisits = [
        m
        for m in fast_emulator.requests
        if m.method == "sendMessage"
        and m.status == 200
        and str(m.params.get("chat_id")) == str(user.id)
        and f"rv:{ticket.id}:ok" in str(m.params.get("reply_markup", ""))
    ]
    assert len(revisits) == 1


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_row_committed_before_a_crash_is_sent_at_the_next_start(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    staff, sue, max_ = staff_desk(fast_emulator)
    settings = {**desk_settings(staff, sue, max_), "outbox_poll_seconds": 0.1}
    database = tmp_path / "bot.db"
    async with running_bot(fast_emulator, database, framework, **settings) as (bot, services):
        bot.outbox.stop()  # as if this process died right after a job's commit
        await bot.outbox_task
        async with services.uow() as uow:
            reply = Reply(
                "staff.chat_unreachable", {"chat": 1, "problem": "gone"}, chat_id=staff.group.id
            )
            await enqueue(
                uow,
                bot.deps,
                reply,
                key="sla:1:x:1",
                lane=Lane.SERVICE,
                locale="en",
                now=services.clock.now(),
            )
            await uow.commit()
    assert not [m for m in fast_emulator.bot_messages(staff.group.id) if "⚠️" in m["text"]]
    async with running_bot(fast_emulator, database, framework, **settings) as (_, services):

        async def sent() -> bool:
            async with services.uow() as uow:
                row = await uow.outbox.get(1)
            return row is not None and row.state is OutboxState.SENT

        await wait_until(sent)
    assert len([m for m in fast_emulator.bot_messages(staff.group.id) if "⚠️" in m["text"]]) == 1
