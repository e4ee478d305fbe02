"""The ``/campaign`` wizard and ``/campaigns`` through the real dispatcher over fakes: the
wizard's state is in the database only (a restart mid-wizard continues it), the preview
shows marketing's words escaped once, and ``/campaigns`` offers only the actions a campaign's
state allows."""

from __future__ import annotations

from bot.core.campaigns.model import Action, CampaignState
from bot.core.messages import Sender
from bot.core.roles import Role
from bot.core.services.campaigns import CampaignTools, change
from bot.core.services.staff import enroll
from tests.unit.conftest import FakeBot

MO = Sender(id=7001, first_name="Mo", language_code="en")


async def marketer(bot: FakeBot) -> None:
    async with bot.deps.uow() as uow:
        await enroll(uow, MO.id, "Mo", Role.MARKETING, bot.clock.now())
        await uow.commit()


async def to_the_preview(bot: FakeBot, coupon: str, when: str | None) -> None:
    """Mo walks the wizard to its preview: everyone, "Hello" in English for every locale, no
    link, `coupon`, no holdout, at `when` (None: now)."""
    await bot.say(MO, "/campaign")
    await bot.press(MO, "cw:audience:next")
    await bot.say(MO, "Hello")
    for data in ("cw:message:same", "cw:message:same", "cw:link:nolink", coupon):
        await bot.press(MO, data)
    await bot.press(MO, "cw:holdout:holdout:0")
    if when is None:
        await bot.press(MO, "cw:schedule:now")
    else:
        await bot.say(MO, when)


def labels(bot: FakeBot) -> list[list[str]]:
    return [[b.text for b in row] for row in bot.messenger.sent[-1].buttons]


async def test_a_restart_mid_wizard_continues_where_it_stopped(bot: FakeBot) -> None:
    await marketer(bot)
    await bot.say(MO, "/campaign")
    await bot.press(MO, "cw:audience:t:tier.high")
    await bot.press(MO, "cw:audience:next")
    await bot.say(MO, "Tea & <cakes> for {name}")
    bot.configure()  # a new process: a new dispatcher over the same database
    await bot.say(MO, "/campaign")
    assert bot.messenger.sent[-2].template_key == "campaign_wizard.resumed"
    assert "read Simplified Chinese" in bot.messenger.sent[-1].text
    await bot.press(MO, "cw:message:same")
    await bot.press(MO, "cw:message:same")
    await bot.press(MO, "cw:link:nolink")
    await bot.press(MO, "cw:coupon:coupon:none")
    await bot.press(MO, "cw:holdout:holdout:5")
    await bot.press(MO, "cw:schedule:now")
    previews = [m for m in bot.messenger.sent if m.template_key == "campaign_wizard.preview"]
    assert len(previews) == 3
    assert previews[0].text.endswith("Tea &amp; &lt;cakes&gt; for Alex")  # escaped once
    async with bot.deps.uow() as uow:
        [draft] = await uow.campaigns.all()
    assert draft.state is CampaignState.DRAFT and draft.spec.holdout == 0.05
    assert {c.tiers for c in draft.spec.audience.clauses} == {frozenset({"high"})}

    await bot.press(MO, "cw:preview:back")  # the draft is withdrawn; the schedule asked again
    assert "step 6 of 7" in bot.messenger.sent[-1].text.lower()
    async with bot.deps.uow() as uow:
        withdrawn = await uow.campaigns.get(draft.id or 0)
    assert withdrawn is not None and withdrawn.state is CampaignState.CANCELLED
    await bot.press(MO, "cw:schedule:cancel")
    assert bot.messenger.sent[-1].template_key == "campaign_wizard.cancelled"
    await bot.press(MO, "cw:schedule:now")  # an old button: nothing under way any more
    assert bot.messenger.callbacks[-1][1] is not None
    assert "earlier step" in (bot.messenger.callbacks[-1][1] or "")


async def test_campaigns_offers_only_the_actions_its_state_allows(bot: FakeBot) -> None:
    await marketer(bot)
    await bot.say(MO, "/campaigns")
    assert "no campaigns yet" in bot.messenger.sent[-1].text
    await to_the_preview(bot, "cw:coupon:coupon:percent.10", "2031-01-01 10:00")
    await bot.press(MO, "cw:preview:confirm")
    assert "is scheduled for 2031-01-01 10:00 UTC" in bot.messenger.sent[-1].text  # London
    async with bot.deps.uow() as uow:
        [campaign] = await uow.campaigns.all()
    n = campaign.id
    await bot.say(MO, "/campaigns")
    assert labels(bot) == [[f"⏸ Pause #{n}", f"✖️ Cancel #{n}", f"📊 Report #{n}"]]
    await bot.press(MO, f"cm:{n}:pause")
    assert bot.messenger.callbacks[-1][1] == f"Campaign #{n} is paused."
    assert bot.messenger.sent[-1].edit_message_id == 1  # the list, brought up to date
    assert labels(bot) == [[f"▶️ Resume #{n}", f"✖️ Cancel #{n}", f"📊 Report #{n}"]]
    await bot.press(MO, f"cm:{n}:pause")  # an old list's button: refused, nothing moves
    assert (
        bot.messenger.callbacks[-1][1] == f"Campaign #{n} is paused now, so that is not possible."
    )
    await bot.press(MO, "cm:999:report")  # forged: no such campaign
    assert bot.messenger.callbacks[-1][1] == "There is no campaign #999."
    await bot.press(MO, f"cm:{n}:cancel")
    await bot.say(MO, "/campaigns")
    assert labels(bot) == [[f"📊 Report #{n}"]]
    assert "cancelled · 0/0 sent" in bot.messenger.sent[-1].text


async def test_a_confirm_the_rules_refuse_keeps_the_step_and_says_why(bot: FakeBot) -> None:
    await marketer(bot)
    await to_the_preview(bot, "cw:coupon:coupon:none", None)
    async with bot.deps.uow() as uow:
        [draft] = await uow.campaigns.all()
    tools = CampaignTools.of(bot.deps)
    await change(tools, draft.id or 0, Action.CANCEL)  # from the command line, meanwhile
    await bot.press(MO, "cw:preview:confirm")
    correction, step = bot.messenger.sent[-2:]
    assert correction.text == (
        f"Sorry — campaign #{draft.id} is cancelled now (it was changed elsewhere), so this "
        "step is not possible. Please check your choices, or go Back or Cancel."
    )
    assert step.template_key == "campaign_wizard.step.preview"  # the same step again
    await bot.press(MO, "cw:preview:cancel")
    assert bot.messenger.sent[-1].template_key == "campaign_wizard.cancelled"
