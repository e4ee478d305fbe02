"""Product news for the mid tier end to end, through aiogram AND python-telegram-bot against
the emulator (issue #10): marketing adds news per language; the playbook's run sends each
mid-tier customer who agreed to offers the news in their own language, with the opt-out
button, once; a customer whose language has no news yet gets nothing until it has."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.bootstrap import Services
from bot.app.jobs import engagement
from bot.app.settings import Framework
from bot.core.engagement.news import NewsItem
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot, standing
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat

pytestmark = BOT_DATABASE


async def mid_tier_with_consent(services: Services, chat_id: int) -> None:
    await standing(services, chat_id, "mid", "active")


async def add_news(services: Services, locale: str, title: str, body: str) -> None:
    async with services.uow() as uow:
        await uow.news.add(NewsItem(0, locale, title, body, services.clock.now()))
        await uow.commit()


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_news_reaches_the_mid_tier_in_each_customer_s_language_once(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    settings = {**FAST_PACING, **NO_QUIET_HOURS}
    async with running_bot(emu, tmp_path / "bot.db", framework, **settings) as (app, services):
        mia = Chat(emu, emu.add_user("Mia", language_code="en"), app)
        lin = Chat(emu, emu.add_user("Lin", language_code="zh-hans"), app)
        for chat in (mia, lin):
            await chat.say("/start")
            await mid_tier_with_consent(services, chat.user.id)
        before = {chat: len(chat.texts()) for chat in (mia, lin)}

        await engagement.run(app.dispatcher)  # no news yet: nothing
        await add_news(services, "en", "Autumn teas", "Oolong is back & so is the clay pot.")
        await engagement.run(app.dispatcher)
        await mia.say("/help")  # a round trip, so everything sent has arrived
        news = [t for t in mia.texts()[before[mia] :] if "Autumn teas" in t]
        assert len(news) == 1 and "Oolong is back & so is the clay pot." in news[0]
        latest = emu.bot_messages(mia.user.id)
        [with_news] = [m for m in latest if "Autumn teas" in str(m.get("text"))]
        buttons = with_news["reply_markup"]["inline_keyboard"]
        assert buttons and buttons[0][0]["callback_data"] == "optout:marketing"
        assert not any("Autumn teas" in t for t in lin.texts())  # she reads Chinese

        await add_news(services, "zh-Hans", "秋茶上市", "乌龙茶回来了。")
        await engagement.run(app.dispatcher)
        await lin.say("/help")
        assert [t for t in lin.texts()[before[lin] :] if "秋茶上市" in t]
        await engagement.run(app.dispatcher)  # a second run this period sends nothing more
        await mia.say("/help")
        assert sum("Autumn teas" in t for t in mia.texts()) == 1
        assert sum("秋茶上市" in t for t in lin.texts()) == 1
