"""Profile completion end to end through aiogram AND python-telegram-bot against the emulator:
after rating a resolved ticket, the customer is asked — one question at a time — for their
language (buttons), their time zone (a typed one, corrected courteously when it is no zone)
and to link their shop account (the existing /link flow takes over)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.profile import Answer, ProfileField
from sandbox import Emulator
from sandbox.scenario import Persona, Press, Say, Staff, play
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import (
    A_COMPLAINT_RESOLVED,
    FAST_PACING,
    FRAMEWORKS,
    enroll_staff,
    running_bot,
)

pytestmark = BOT_DATABASE


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_after_a_rating_the_bot_asks_for_what_the_profile_lacks(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    group = fast_emulator.add_forum_group("Care desk")
    staff = Staff(group, fast_emulator.add_user("Sam", username="sam"))
    rita = Persona(
        "Rita",
        "en",
        (
            *A_COMPLAINT_RESOLVED,
            Press("5 ⭐"),
            Press("Skip"),  # no comment: the rating exchange ends here
            Press("简体中文"),
            Press("我来输入"),
            Say("Narnia/Cair"),
            Say("asia/taipei"),
            Press("关联我的账户"),
        ),
    )
    # No quiet hours (start = end), whatever the time of day the test runs at: holding the
    # question through them is proven in tests/unit/test_profile.py.
    quiet = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    settings = {"staff_chat_id": group.id, **quiet, **FAST_PACING}
    async with running_bot(fast_emulator, tmp_path / "bot.db", framework, **settings) as (
        app,
        services,
    ):
        await enroll_staff(services, staff.member)
        transcript = await play(
            fast_emulator, [rita], staff=staff, idle=lambda: app.dispatcher.in_flight == 0
        )
        user = transcript.users["Rita"]
        async with services.uow() as uow:
            customer = await uow.customers.get_by_chat_id(user.id)
            assert customer is not None and customer.id is not None
            asked = await uow.profile.asked(customer.id)
    assert (customer.language, customer.timezone) == ("zh-Hans", "Asia/Taipei")
    assert {f: a.answer for f, a in asked.items()} == {f: Answer.GIVEN for f in ProfileField}
    said = transcript.bot_texts()
    ask = next(n for n, s in enumerate(said) if "Which language would you like me to use?" in s)
    assert "May I ask one small thing" in said[ask]
    assert any("您在哪个时区" in s for s in said[ask:])  # asked in the language just chosen
    assert any("没有找到名为“Narnia/Cair”的时区" in s for s in said[ask:])
    assert any("已记下您的时区：Asia/Taipei" in s for s in said[ask:])
    contact = fast_emulator.bot_messages(user.id)[-1]
    assert "分享您的手机号码" in contact["text"]  # /link's request, in her language now
    assert "keyboard" in (contact.get("reply_markup") or {})  # the /link flow's contact button
