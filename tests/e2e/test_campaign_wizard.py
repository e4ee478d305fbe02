"""The Telegram side of campaigns, through aiogram AND python-telegram-bot against the emulator
on virtual time (issue #11), in one bot run per framework:

1. A marketing staff member creates a campaign to the mid tier with ``/campaign`` — audience
   buttons, a message per language (one borrowed from English), a link button, no coupon, a
   20 % holdout, a time typed in Asia/Shanghai (after a time that does not parse, corrected) —
   sees the preview per language, test-sends it to themselves and confirms. ``/campaigns``
   lists it as scheduled. At its time the campaigns job sends it: the right customers receive
   it in their own language; the opted-out, the blocked and the holdout customer and the base
   tier receive nothing; the Report button's counts add up to the audience exactly.
2. The role matrix: a customer and staff without the marketing or admin role cannot create,
   see, change (pause), test-send or report on campaigns — not even with forged button data or a
   wizard state left over — and get a courteous refusal; nothing changes. Marketing and admins
   can.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
    CampaignState,
    LocaleMessage,
    Schedule,
    ScheduleKind,
    in_holdout,
)
from bot.core.campaigns.wizard import FLOW, Step, WizardState
from bot.core.models import Conversation
from bot.core.roles import Role
from bot.core.services import campaigns as service
from sandbox import Emulator, SimUser, VirtualClock
from sandbox.faults import Fault
from storage.tables import CampaignRow
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS, enroll_staff, running_bot
from tests.e2e.test_campaigns import SHOP, standing, until
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat

pytestmark = BOT_DATABASE

HOLDOUT = 0.2
REFUSAL = "campaigns are run by our marketing team"


def seed_for(holdout: int, others: list[int]) -> int:
    """A holdout seed that draws exactly `holdout` of these customers at 20 %."""
    for seed in range(10_000):
        if in_holdout(seed, holdout, HOLDOUT) and not any(
            in_holdout(seed, other, HOLDOUT) for other in others
        ):
            return seed
    raise AssertionError("no such seed")


def last(chat: Chat) -> str:
    return chat.texts()[-1]


async def forge(chat: Chat, data: str) -> str | None:
    """`chat`'s user sends a button press with `data` — as a tampered client could — on the
    bot's latest message in their chat; returns the bot's answer to it."""
    emu = chat.emu
    state = emu.world.chats[chat.user.id]
    latest = max(m for m, body in state.messages.items() if body["from"]["id"] == emu.bot.id)
    state.messages[latest]["reply_markup"] = {
        "inline_keyboard": [[{"text": "forged", "callback_data": data}]]
    }
    since = len(emu.requests)
    pressed = await emu.press_button(chat.user, latest, data)
    await chat._settled(since)
    answer = emu.callback_answer(pressed["callback_query"]["id"])
    assert answer is not None, f"{data} was not answered"
    return answer.get("text")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_campaigns_in_telegram_reach_the_right_customers_and_only_marketing_runs_them(
    framework: Framework, emulator: Emulator, virtual_clock: VirtualClock, tmp_path: Path
) -> None:
    emu = emulator
    settings: dict[str, Any] = {**NO_QUIET_HOURS}
    async with running_bot(emu, tmp_path / "bot.db", framework, **settings) as (app, services):
        people = {
            "Mia": ("en", "mid", True),
            "Lin": ("zh-hans", "mid", True),
            "Wei": ("zh-hant", "mid", True),
            "Opt": ("en", "mid", False),
            "Blk": ("en", "mid", True),
            "Hold": ("en", "mid", True),
            "Base": ("en", "base", True),
        }
        chats: dict[str, Chat] = {}
        ids: dict[str, int] = {}
        for name, (code, tier, consent) in people.items():
            chats[name] = Chat(emu, emu.add_user(name, language_code=code), app)
            await chats[name].say("/start")
            ids[name] = await standing(services, chats[name].user.id, tier, consent)
        emu.inject_fault(Fault("blocked", chat_id=chats["Blk"].user.id))
        before = {name: len(emu.bot_messages(c.user.id)) for name, c in chats.items()}
        mo = Chat(emu, emu.add_user("Mo", language_code="en"), app)
        await enroll_staff(services, mo.user, Role.MARKETING)

        await mo.say("/campaign")
        assert "step 1 of 7" in last(mo) and "Audience now: 6 customer(s)" in last(mo)
        await mo.press("Mid")  # toggles edit the step in place
        assert "Audience now: 5 customer(s)" in last(mo)
        await mo.press("✅ Only customers who agreed to offers")  # the guards still refuse Opt
        assert "Audience now: 6 customer(s)" in last(mo)
        await mo.press("Next ▶️")
        assert "read English" in last(mo)
        await mo.say("Hello {name}, the spring teas are here.")
        assert "read Simplified Chinese" in last(mo)
        await mo.say("{name}，您好！春茶到了。")
        await mo.press("Use the English text")  # for Traditional Chinese
        assert "link button" in last(mo)
        await mo.say(f"Shop now {SHOP}")
        await mo.press("No coupon")
        await mo.press("20%")
        assert "step 6 of 7" in last(mo).lower()
        await mo.say("next tuesday")
        assert "could not read “next tuesday” as a date and time" in mo.texts()[-2]
        assert "step 6 of 7" in last(mo).lower()  # the same step again
        shanghai = ZoneInfo("Asia/Shanghai")
        local = (services.clock.now() + timedelta(hours=1)).astimezone(shanghai)
        await mo.say(f"{local:%Y-%m-%d %H:%M} Asia/Shanghai")

        texts = mo.texts()
        assert "Hello Mo" not in " ".join(texts)  # the preview is the sample customers'
        [en] = [t for t in texts if t.startswith("👁 English")]
        assert en.endswith("Hello Mia, the spring teas are here.")
        [hans] = [t for t in texts if t.startswith("👁 Simplified Chinese")]
        assert hans.endswith("Lin，您好！春茶到了。")
        [hant] = [t for t in texts if t.startswith("👁 Traditional Chinese")]
        assert hant.endswith("Hello Wei, the spring teas are here.")
        shown = [m for m in emu.bot_messages(mo.user.id) if "👁" in m["text"]]
        assert shown[0]["reply_markup"]["inline_keyboard"] == [[{"text": "Shop now", "url": SHOP}]]
        assert "Step 7 of 7" in last(mo) and "holdout: 20%" in last(mo)

        async with services.uow() as uow:
            [draft] = await uow.campaigns.all()
            assert draft.state is CampaignState.DRAFT and draft.spec.holdout == HOLDOUT
            others = [ids[n] for n in ("Mia", "Lin", "Wei", "Opt", "Blk")]
            await uow.session.execute(
                update(CampaignRow)
                .where(col(CampaignRow.id) == draft.id)
                .values(seed=seed_for(ids["Hold"], others))
            )
            await uow.commit()
        cid = draft.id or 0

        sent_before = len(emu.bot_messages(mo.user.id))
        await mo.press("🧪 Send me a test")
        await until(
            lambda: (
                sum("Hello Mo, the spring teas are here." in t for t in mo.texts()) == 1
                and any("Mo，您好！春茶到了。" in t for t in mo.texts())
            ),
            "the test send",
        )
        assert len(emu.bot_messages(mo.user.id)) > sent_before
        await mo.press("✅ Confirm and schedule")
        assert f"Campaign #{cid}" in last(mo) and "is scheduled for" in last(mo)
        await mo.say("/campaigns")
        assert f"#{cid} Hello …, the spring teas are here. — scheduled · 0/6 sent" in last(mo)

        await campaign_job.tick(app.dispatcher)  # not yet
        async with services.uow() as uow:
            assert await uow.campaigns.progress(cid) == {}
        virtual_clock.advance(3600)
        await campaign_job.tick(app.dispatcher)
        mia, lin, wei = (chats[n].user.id for n in ("Mia", "Lin", "Wei"))
        await until(
            lambda: all(
                len(emu.bot_messages(c)) > before[n]
                for n, c in (("Mia", mia), ("Lin", lin), ("Wei", wei))
            ),
            "the campaign's messages",
        )
        tools = service.CampaignTools.of(app.dispatcher.deps)
        for _ in range(200):
            if (await service.report(tools, cid)).waiting == 0:
                break
            await virtual_clock.sleep(0.05)
        await campaign_job.tick(app.dispatcher)  # every recipient decided: done

        [to_mia] = emu.bot_messages(mia)[before["Mia"] :]
        assert to_mia["text"] == "Hello Mia, the spring teas are here."
        assert to_mia["reply_markup"]["inline_keyboard"][0] == [{"text": "Shop now", "url": SHOP}]
        [to_lin] = emu.bot_messages(lin)[before["Lin"] :]
        assert to_lin["text"] == "Lin，您好！春茶到了。"
        [to_wei] = emu.bot_messages(wei)[before["Wei"] :]
        assert to_wei["text"] == "Hello Wei, the spring teas are here."
        for name in ("Opt", "Blk", "Hold", "Base"):
            assert len(emu.bot_messages(chats[name].user.id)) == before[name], name

        await mo.say("/campaigns")
        assert f"#{cid} Hello …, the spring teas are here. — done · 3/6 sent" in last(mo)
        await mo.press(f"📊 Report #{cid}")
        report = last(mo)
        assert f"Campaign #{cid}: audience 6 — sent 3, holdout 1, failed 0, blocked 1" in report
        assert "no consent 1, frequency cap 0" in report and "(adds up)" in report
        figures = await service.report(tools, cid)
        assert figures.adds_up and figures.audience == 6

        await only_marketing_and_admins_reach_campaigns(emu, app, services)


ROLES: list[Role | None] = [
    None,
    Role.AGENT,
    Role.SUPERVISOR,
    Role.MANAGER,
    Role.MARKETING,
    Role.ADMIN,
]
ALLOWED = {Role.MARKETING, Role.ADMIN}


async def scheduled_campaign(services: Services, tools: service.CampaignTools) -> int:
    at = Schedule(ScheduleKind.AT, at=services.clock.now() + timedelta(days=1))
    spec = CampaignSpec(
        "Spring", CampaignAudience(), {"en": LocaleMessage(text="Hi {name}")}, schedule=at
    )
    campaign = await service.create(tools, spec, "cli")
    await service.change(tools, campaign.id or 0, Action.SCHEDULE)
    return campaign.id or 0


async def left_in_the_wizard(services: Services, user: SimUser) -> None:
    """A wizard state at its message step, as a member whose role was since changed (or a
    tampered database) might leave it."""
    state = WizardState(step=Step.MESSAGE, tiers=("mid",))
    async with services.uow() as uow:
        await uow.conversations.save(
            Conversation(user.id, FLOW, state.step.value, services.clock.now(), state.as_data())
        )
        await uow.commit()


ACTIONS = (
    "type into the wizard",
    "create",
    "see",
    "wizard button",
    "test-send",
    "pause",
    "report",
)


async def attempt(chat: Chat, action: str, cid: int) -> bool:
    """`chat`'s user tries `action` on campaign `cid`; False when they were refused (the
    refusal is checked to be courteous)."""
    match action:
        case "type into the wizard":
            await chat.say("Hello {name}, spring is here.")
            answer: str | None = last(chat)
        case "create":
            await chat.say("/campaign")
            answer = last(chat)
        case "see":
            await chat.say("/campaigns")
            answer = last(chat)
            assert REFUSAL in answer or f"#{cid} Spring" in answer
        case _:
            data = {
                "wizard button": "cw:message:same",
                "test-send": "cw:preview:test",
                "pause": f"cm:{cid}:pause",
                "report": f"cm:{cid}:report",
            }[action]
            answer = await forge(chat, data)
    refused = REFUSAL in (answer or "")
    assert not refused or (answer or "").startswith("Sorry")
    return not refused


async def only_marketing_and_admins_reach_campaigns(
    emu: Emulator, app: Any, services: Services
) -> None:
    """The role matrix (see the module docstring), on the bot already running."""
    tools = service.CampaignTools.of(app.dispatcher.deps)
    people: dict[str, tuple[Role | None, Chat, int]] = {}
    for n, role in enumerate(ROLES):
        chat = Chat(emu, emu.add_user(f"P{n}", language_code="en"), app)
        if role is not None:
            await enroll_staff(services, chat.user, role)
        else:
            await chat.say("/start")
        await left_in_the_wizard(services, chat.user)
        people[role.value if role else "customer"] = (
            role,
            chat,
            await scheduled_campaign(services, tools),
        )

    table = {
        name: {action: await attempt(chat, action, cid) for action in ACTIONS}
        for name, (_, chat, cid) in people.items()
    }
    assert table == {
        name: dict.fromkeys(ACTIONS, role in ALLOWED) for name, (role, _, _) in people.items()
    }

    for name, (role, chat, cid) in people.items():
        async with services.uow() as uow:
            campaign = await uow.campaigns.get(cid)
            conversation = await uow.conversations.get(chat.user.id)
        assert campaign is not None and conversation is not None
        if role in ALLOWED:  # paused; the wizard took two answers
            assert campaign.state is CampaignState.PAUSED, name
            state = WizardState.from_data(conversation.data)
            assert state.step is Step.MESSAGE and state.asking(("en", "zh-Hans", "zh-Hant"))
            assert state.texts == {"en": "Hello {name}, spring is here.", "zh-Hans": None}
        else:  # nothing changed
            assert campaign.state is CampaignState.SCHEDULED, name
            untouched = WizardState(step=Step.MESSAGE, tiers=("mid",)).as_data()
            assert conversation.data == untouched, name
            assert not [t for t in chat.texts() if "Test sent" in t or "👁" in t]
