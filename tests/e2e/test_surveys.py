"""Satisfaction surveys by tier end to end, through aiogram AND python-telegram-bot against the
emulator, on a clock the test moves (issue #10): the playbook sends each tier's survey with
0–10 buttons in two rows (and the opt-out button) to customers who agreed to offers; a score
is thanked in the customer's language and followed by an optional comment (typed, or "No
comment"); a second press of the same score changes nothing; another score within the window
changes it, after the window it is kindly refused; a detractor's answer opens one follow-up task
in the supervisors' chat, which also hears their comment; the quarter's report adds up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.jobs import engagement
from bot.app.settings import Framework
from bot.core.staff_tasks import TaskKind
from bot.core.surveys import nps_summary, quarter_bounds
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot, standing
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat
from tests.e2e.test_staff_tasks import drained
from tests.fakes import ShiftedClock

pytestmark = BOT_DATABASE

ASKED = "How likely are you to recommend us"
ASKED_ZH = "推荐给朋友或同事"


def survey_keyboard(chat: Chat) -> list[list[dict[str, str]]]:
    [asked] = [m for m in chat.emu.bot_messages(chat.user.id) if ASKED in str(m.get("text"))]
    return list(asked["reply_markup"]["inline_keyboard"])


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_surveys_answers_comments_follow_ups_and_the_report(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    group = emu.add_forum_group("Care desk")
    supervisors = emu.add_group("Supervisors")
    clock = ShiftedClock()
    settings = {
        **FAST_PACING,
        **NO_QUIET_HOURS,
        "staff_chat_id": group.id,
        "supervisor_chat_id": supervisors.id,
        "nps_comment_minutes": 60,
    }
    async with running_bot(emu, tmp_path / "bot.db", framework, clock=clock, **settings) as (
        app,
        services,
    ):
        hana, mo, bea, pat = (
            Chat(emu, emu.add_user(name, language_code=lang), app)
            for name, lang in (("Hana", "en"), ("Mo", "zh-hans"), ("Bea", "en"), ("Pat", "en"))
        )
        for chat in (hana, mo, bea, pat):
            await chat.say("/start")
        await standing(services, hana.user.id, "high", "active")
        await standing(services, mo.user.id, "mid", "active")
        await standing(services, bea.user.id, "base", "active")
        await standing(services, pat.user.id, "base", "active")
        await pat.say("/stop")  # Pat wants no offers: no survey for her

        await engagement.run(app.dispatcher)
        await drained(services)
        rows = survey_keyboard(hana)
        assert [[b["text"] for b in row] for row in rows[:2]] == [
            [str(n) for n in range(6)],
            [str(n) for n in range(6, 11)],
        ]
        assert rows[2][0]["callback_data"] == "optout:marketing"
        assert any(ASKED_ZH in t for t in mo.texts())  # in her language
        assert survey_keyboard(bea) and not any(ASKED in t for t in pat.texts())

        # Hana, a promoter, comments.
        await hana.press("10")
        assert "you gave us 10 out of 10" in hana.texts()[-2]
        assert "Is there anything you would like to add?" in hana.texts()[-1]
        await hana.say("Lovely tea, quick delivery.")
        assert "Thank you for your comment, Hana" in hana.texts()[-1]

        # Mo, a detractor: one follow-up task however often she presses; her comment reaches
        # the supervisors.
        await mo.press("3")
        await mo.press("3")
        assert sum("不留言" in t or "我们应该在哪些方面做得更好" in t for t in mo.texts()) == 1
        await mo.say("送货太慢了")
        assert "谢谢您的留言" in mo.texts()[-1]
        await drained(services)
        followups = [
            m for m in emu.bot_messages(supervisors.id) if "Survey follow-up" in str(m.get("text"))
        ]
        assert len(followups) == 1 and "score 3/10" in followups[0]["text"]
        assert any("送货太慢了" in str(m.get("text")) for m in emu.bot_messages(supervisors.id))

        # Bea slips (5), corrects it within the window (8), says no more; later it is too late.
        await bea.press("5")
        await bea.press("8")
        await bea.press("No comment")
        assert "We are here whenever you need us" in bea.texts()[-1]
        clock.advance(2 * 3600)
        await bea.press("2")
        assert "this survey is closed now" in bea.texts()[-1]

        async with services.uow() as uow:
            start, end = quarter_bounds(f"{clock.now().year}Q{(clock.now().month - 1) // 3 + 1}")
            sent = await uow.surveys.sent_between(start, end)
            tasks = await uow.tasks.listing()
        by_tier = {s.tier: s for s in sent}
        assert (by_tier["high"].score, by_tier["high"].comment) == (
            10,
            "Lovely tea, quick delivery.",
        )
        assert (by_tier["mid"].score, by_tier["mid"].comment) == (3, "送货太慢了")
        assert (by_tier["base"].score, by_tier["base"].comment) == (8, None)
        followed = sorted(t.customer_id for t in tasks if t.kind is TaskKind.NPS_FOLLOWUP)
        # Mo's 3, and Bea's slip of 5 (a person looks at it even though she changed it)
        assert len(followed) == 2
        total = nps_summary(sent)[-1]
        counts = (total.promoters, total.passives, total.detractors)
        assert (total.sent, total.responses, counts) == (3, 3, (1, 1, 1))
        assert total.nps == 0.0

        # The playbook runs again this period: no second survey.
        await engagement.run(app.dispatcher)
        await drained(services)
        assert not any(ASKED in t for t in hana.texts())  # the one she had says her score now
        async with services.uow() as uow:
            assert len(await uow.surveys.sent_between(start, end)) == 3
