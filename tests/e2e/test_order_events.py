"""Order events pushed to the running bot's endpoint drive the playbook's order rules, end to
end through aiogram AND python-telegram-bot (issue #10; SPEC §8):

* an unpaid order gets its payment reminder 1 h after it was created — not before, once, and
  in the customer's language; none once a ``paid`` event arrived before the hour; none after
  24 h;
* a delivered order gets its revisit 7 days after delivery, not before.

The bot runs against the emulator with a :class:`~tests.fakes.ShiftedClock` the test moves
forward; the engagement job is run directly (as the scheduler would, hourly) after each step.
The customer is created by the first event (``customer_ref``) and linked to their Telegram
chat by the shop's signed deep link, as a real customer would be.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import col, select

from bot.app.bootstrap import Services
from bot.app.events_server import PATH
from bot.app.jobs import engagement
from bot.app.policies import policies
from bot.app.runner import RunningBot
from bot.app.settings import Framework
from bot.core.order_events import SIGNATURE_HEADER, sign
from bot.core.profile import PREFIX as PROFILE_PREFIX
from bot.core.services.linking import link_url
from sandbox import Emulator, SimUser
from storage.crypto import new_key
from storage.tables.outbox import OutboxRow
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot
from tests.e2e.test_consent import NO_QUIET_HOURS
from tests.fakes import ShiftedClock

pytestmark = BOT_DATABASE

SECRET = "shop-and-bot-share-this"
REF = "C-MEI"
HOUR = 3600
DAY = 24 * HOUR
REMINDER = "尚待付款"  # zh-Hant: "waiting for payment"
REVISIT = "已送達"  # zh-Hant: "has been delivered"


@dataclass
class Shop:
    """The running bot, its clock, the shop's side of the endpoint and the customer Mei
    (Traditional Chinese)."""

    bot: RunningBot
    services: Services
    clock: ShiftedClock
    emulator: Emulator
    mei: SimUser
    push: Callable[..., Awaitable[dict[str, Any]]]

    async def link_mei(self) -> None:
        """Mei opens the shop's deep link: her chat is linked to the record of ``C-MEI``."""
        async with self.services.uow() as uow:
            record = await uow.records.get_by_ref(REF)
        assert record is not None and record.id is not None
        url = link_url(policies(self.services.settings).linking, record.id, self.clock.now())
        self.emulator.mark()
        await self.emulator.send_text(self.mei, "/start " + url.rsplit("=", 1)[1])
        await self.emulator.wait_for("sendMessage", chat_id=self.mei.id, timeout=10)

    async def after(self, seconds: float) -> list[str]:
        """Moves time on by `seconds`, runs the engagement job, and returns the texts it sent
        Mei about her orders (the profile question a first order also brings is kept apart:
        :meth:`profile_questions`)."""
        self.clock.advance(seconds)
        before = len(self.emulator.bot_messages(self.mei.id))
        await engagement.run(self.bot.dispatcher)
        sent = self.emulator.bot_messages(self.mei.id)[before:]
        return [m["text"] for m in sent if not _profile_question(m)]

    def profile_questions(self) -> list[str]:
        return [m["text"] for m in self.emulator.bot_messages(self.mei.id) if _profile_question(m)]

    async def engagement_keys(self) -> list[str]:
        async with self.services.uow() as uow:
            rows = await uow.session.scalars(
                select(col(OutboxRow.idempotency_key)).where(
                    col(OutboxRow.idempotency_key).like("engage:%")
                )
            )
            return sorted(rows.all())


def _profile_question(message: dict[str, Any]) -> bool:
    """A profile question (:mod:`bot.core.profile`): its buttons carry ``pf:`` data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(str(b.get("callback_data", "")).startswith(PROFILE_PREFIX) for r in rows for b in r)


@contextlib.asynccontextmanager
async def shop(emulator: Emulator, tmp_path: Path, framework: Framework) -> AsyncIterator[Shop]:
    clock = ShiftedClock()
    settings: dict[str, Any] = {
        "encryption_key": new_key(),
        "events_port": 0,
        "events_secret": SECRET,
        **FAST_PACING,
        **NO_QUIET_HOURS,  # the order rules are service messages; the profile question is not
    }
    async with (
        running_bot(emulator, tmp_path / "bot.db", framework, clock=clock, **settings) as (
            bot,
            services,
        ),
        aiohttp.ClientSession() as http,
    ):
        assert bot.events is not None, "RAPPORT_EVENTS_PORT is set: the endpoint runs"
        url = f"http://127.0.0.1:{bot.events.port}{PATH}"

        async def push(event: str, order_id: str = "A-100", **times: Any) -> dict[str, Any]:
            fields = {k: v.isoformat() for k, v in times.items()}
            body = json.dumps(
                {"event": event, "order_id": order_id, "customer_ref": REF, "amount": "88.00"}
                | fields
            ).encode()
            headers = {SIGNATURE_HEADER: sign(SECRET.encode(), body)}
            async with http.post(url, data=body, headers=headers) as response:
                answer: dict[str, Any] = await response.json()
                assert response.status == 200, answer
                return answer

        mei = emulator.add_user("Mei", language_code="zh-TW")
        yield Shop(bot, services, clock, emulator, mei, push)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_unpaid_order_is_reminded_after_an_hour_once_in_the_customers_language(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    async with shop(fast_emulator, tmp_path, framework) as s:
        await s.push("created", created_at=s.clock.now())
        await s.link_mei()
        assert await s.after(59 * 60) == [], "not before the hour"
        [reminder] = await s.after(2 * 60)
        assert REMINDER in reminder and "A-100" in reminder
        assert await s.after(HOUR) == [], "once"
        assert await s.engagement_keys() == [
            f"engage:payment-reminder:{(await customer_id(s))}:order-A-100"
        ]
        # Her first order was a natural moment to ask, once, for her language (zh-Hant).
        [asked] = s.profile_questions()
        assert "您希望我使用哪種語言" in asked


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_order_paid_within_the_hour_gets_no_reminder(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    async with shop(fast_emulator, tmp_path, framework) as s:
        created = s.clock.now()
        await s.push("created", created_at=created)
        await s.link_mei()
        assert await s.after(30 * 60) == []
        answer = await s.push("paid", created_at=created, paid_at=s.clock.now())
        assert answer["status"] == "paid"
        await s.push("created", created_at=created)  # a late repeat does not unpay it
        assert await s.after(31 * 60) == []
        assert await s.after(3 * HOUR) == []
        assert await s.engagement_keys() == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_unpaid_order_is_not_reminded_after_a_day(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    async with shop(fast_emulator, tmp_path, framework) as s:
        await s.push("created", created_at=s.clock.now())
        await s.link_mei()
        assert await s.after(DAY + 60) == [], "never after 24 h"
        assert await s.engagement_keys() == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_delivered_order_is_revisited_after_seven_days(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    async with shop(fast_emulator, tmp_path, framework) as s:
        created = s.clock.now()
        await s.push("created", created_at=created)
        await s.link_mei()
        paid = created + timedelta(minutes=5)
        await s.push("paid", created_at=created, paid_at=paid)
        assert await s.after(2 * DAY) == []
        delivered = s.clock.now()
        answer = await s.push(
            "delivered", created_at=created, paid_at=paid, delivered_at=delivered
        )
        assert answer["status"] == "delivered"
        assert await s.after(7 * DAY - HOUR) == [], "not before seven days"
        [revisit] = await s.after(HOUR + 60)
        assert REVISIT in revisit and "A-100" in revisit
        assert await s.after(HOUR) == [], "once"


async def customer_id(s: Shop) -> int:
    async with s.services.uow() as uow:
        record = await uow.records.get_by_ref(REF)
    assert record is not None and record.id is not None
    return record.id
