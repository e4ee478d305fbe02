"""A marketing campaign end to end, through aiogram AND python-telegram-bot against the
emulator on virtual time (issue #11): marketing creates a campaign to the mid tier (as the
command line does, through the use cases), previews it, test-sends it to a marketing staff
member only, and schedules it an hour ahead. Nothing goes before its time; at its time the
scheduler's job freezes the audience and the outbox delivers it to each customer in their own
language with its link button and the opt-out button. The customer who opted out, the one who
blocked the bot and the one drawn into the holdout receive nothing, nor does the base tier;
the report's counts add up to the audience exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.app.bootstrap import Services
from bot.app.jobs import campaigns as campaign_job
from bot.app.settings import Framework
from bot.core.campaigns.model import (
    Action,
    CampaignAudience,
    CampaignSpec,
    LinkButton,
    LocaleMessage,
    Schedule,
    ScheduleKind,
    in_holdout,
)
from bot.core.consent import ConsentChange, ConsentSource
from bot.core.engagement.playbook import Audience
from bot.core.roles import Role
from bot.core.services import campaigns as service
from bot.core.tiers import Tier
from sandbox import Emulator, VirtualClock
from sandbox.faults import Fault
from storage.tables import CampaignRow, CustomerTierRow
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS, enroll_staff, running_bot
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat

pytestmark = BOT_DATABASE

SHOP = "https://shop.example/spring"
HOLDOUT = 0.5


async def standing(services: Services, chat_id: int, tier: str, consent: bool) -> int:
    async with services.uow() as uow:
        customer = await uow.customers.get_by_chat_id(chat_id)
        assert customer is not None and customer.id is not None
        now = services.clock.now()
        await uow.records.record_consent(
            ConsentChange(customer.id, consent, ConsentSource.IMPORT, now)
        )
        uow.session.add(
            CustomerTierRow(
                customer_id=customer.id,
                as_of=now.date(),
                tier=tier,
                lifecycle="active",
                frequency=3,
                monetary_cents=30000,
            )
        )
        await uow.commit()
        return customer.id


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Waits (real time, briefly each) until the bot has done what `condition` checks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def spring(at: Schedule) -> CampaignSpec:
    return CampaignSpec(
        name="Spring teas",
        audience=CampaignAudience((Audience(tiers=frozenset({Tier.MID})),)),
        messages={
            "en": LocaleMessage(
                text="Hello {name}, the spring teas are here.",
                buttons=(LinkButton("Shop now", SHOP),),
            ),
            "zh-Hans": LocaleMessage(text="{name}，您好！春茶到了。"),
        },
        holdout=HOLDOUT,
        schedule=at,
    )


def seed_for(holdout: int, others: list[int]) -> int:
    """A holdout seed that draws exactly `holdout` of these customers (the draw is recorded
    with the campaign; the test picks it so that the holdout is known)."""
    for seed in range(10_000):
        if in_holdout(seed, holdout, HOLDOUT) and not any(
            in_holdout(seed, other, HOLDOUT) for other in others
        ):
            return seed
    raise AssertionError("no such seed")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_scheduled_campaign_reaches_the_right_customers_in_their_language(
    framework: Framework, emulator: Emulator, virtual_clock: VirtualClock, tmp_path: Path
) -> None:
    emu = emulator
    settings: dict[str, Any] = {**NO_QUIET_HOURS}
    async with running_bot(emu, tmp_path / "bot.db", framework, **settings) as (app, services):
        people = {
            "Mia": ("en", "mid", True),
            "Lin": ("zh-hans", "mid", True),
            "Opt": ("en", "mid", False),
            "Blk": ("en", "mid", True),
            "Hold": ("en", "mid", True),
            "Base": ("en", "base", True),
        }
        chats = {}
        ids = {}
        for name, (code, tier, consent) in people.items():
            chat = Chat(emu, emu.add_user(name, language_code=code), app)
            await chat.say("/start")
            chats[name] = chat
            ids[name] = await standing(services, chat.user.id, tier, consent)
        marketer = emu.add_user("Mo", language_code="en")
        await enroll_staff(services, marketer, Role.MARKETING)
        emu.inject_fault(Fault("blocked", chat_id=chats["Blk"].user.id))
        before = {name: len(emu.bot_messages(chat.user.id)) for name, chat in chats.items()}

        tools = service.CampaignTools.of(app.dispatcher.deps)
        at = Schedule(ScheduleKind.AT, at=services.clock.now() + timedelta(hours=1))
        campaign = await service.create(tools, spring(at), "mo")
        cid = campaign.id or 0
        others = [ids[n] for n in ("Mia", "Lin", "Opt", "Blk")]
        async with services.uow() as uow:
            await uow.session.execute(
                update(CampaignRow)
                .where(col(CampaignRow.id) == cid)
                .values(seed=seed_for(ids["Hold"], others))
            )
            await uow.commit()

        shown = {p.locale: p for p in await service.preview(tools, cid)}
        assert shown["en"].message.text == "Hello Mia, the spring teas are here."
        assert shown["zh-Hans"].message.text == "Lin，您好！春茶到了。"
        await service.test_send(tools, cid, marketer.id)
        await until(lambda: len(emu.bot_messages(marketer.id)) == 2, "the test send")
        assert "Hello Mo, the spring teas are here." in {
            m["text"] for m in emu.bot_messages(marketer.id)
        }

        scheduled = await service.change(tools, cid, Action.SCHEDULE)
        assert scheduled.next_run_at == at.at
        await campaign_job.tick(app.dispatcher)  # not yet: nothing is frozen or sent
        assert (await service.overview(tools, cid)).progress == {}

        virtual_clock.advance(3600)
        await campaign_job.tick(app.dispatcher)
        mia, lin = chats["Mia"].user.id, chats["Lin"].user.id
        await until(
            lambda: (
                len(emu.bot_messages(mia)) > before["Mia"]
                and len(emu.bot_messages(lin)) > before["Lin"]
            ),
            "the campaign's messages",
        )
        [to_mia] = emu.bot_messages(mia)[before["Mia"] :]
        assert to_mia["text"] == "Hello Mia, the spring teas are here."
        keyboard = to_mia["reply_markup"]["inline_keyboard"]
        assert keyboard[0] == [{"text": "Shop now", "url": SHOP}]
        assert keyboard[1][0]["callback_data"] == "optout:marketing"
        [to_lin] = emu.bot_messages(lin)[before["Lin"] :]
        assert to_lin["text"] == "Lin，您好！春茶到了。"

        async def settled() -> bool:
            return (await service.report(tools, cid)).waiting == 0

        for _ in range(200):
            if await settled():
                break
            await asyncio.sleep(0.05)
        await campaign_job.tick(app.dispatcher)  # every recipient decided: done
        for name in ("Opt", "Blk", "Hold", "Base"):
            assert len(emu.bot_messages(chats[name].user.id)) == before[name], name

        report = await service.report(tools, cid)
        assert report.audience == 5 and report.adds_up
        assert (report.sent, report.skipped_consent, report.holdout) == (2, 1, 1)
        assert sum(report.blocked.values()) == 1
        assert (await service.overview(tools, cid)).campaign.state.value == "done"
