"""Outside business hours a customer who asks for a person is told when someone will answer:
the promise runs on the business-hours clock, with a frozen clock on a Saturday and on a
weekday evening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.messages import Sender
from bot.core.models import Customer, RequestReason
from bot.core.services.support import hand_off
from tests.fakes import MemoryUnitOfWorkFactory
from tests.unit.conftest import ALICE, CHAN, WANG, FakeBot

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
WEDNESDAY_EVENING = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
WEDNESDAY_MORNING = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
WEDNESDAY_LATE_AFTERNOON = datetime(2026, 11, 18, 17, 0, tzinfo=UTC)


@pytest.fixture
def office(bot: FakeBot) -> FakeBot:
    """Open Monday to Friday 09:00–18:00 London time (UTC+0 in November)."""
    bot.configure(business_hours="mon-fri 09:00-18:00", business_timezone="Europe/London")
    return bot


async def ask_for_a_person(bot: FakeBot, at: datetime, who: Sender = ALICE) -> str:
    bot.clock.current = at
    await bot.say(who, "Can I speak to someone about my account please?")
    return bot.messenger.assert_sent("handoff.promised").text


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (SATURDAY_NOON, "2026-11-23 11:00"),  # Monday 09:00 + 2 working hours
        (WEDNESDAY_EVENING, "2026-11-19 11:00"),  # Thursday 09:00 + 2 working hours
    ],
)
async def test_outside_opening_hours_the_team_is_away_and_answers_by_the_next_opening(
    office: FakeBot, now: datetime, due: str
) -> None:
    text = await ask_for_a_person(office, now)
    assert "Our team is away right now" in text and f"by <b>{due}</b>" in text
    assert "within" not in text
    [request] = office.uow.store.requests
    assert request.due_at.strftime("%Y-%m-%d %H:%M") == due


async def test_within_opening_hours_the_promise_is_two_hours(office: FakeBot) -> None:
    text = await ask_for_a_person(office, WEDNESDAY_MORNING)
    assert "away" not in text and "by <b>2026-11-18 12:00</b>" in text
    assert "within 2 hours" in text


async def test_near_closing_time_the_promise_is_the_next_morning(office: FakeBot) -> None:
    text = await ask_for_a_person(office, WEDNESDAY_LATE_AFTERNOON)
    assert "away" not in text and "by <b>2026-11-19 10:00</b>" in text
    assert "within" not in text  # one working hour today, one tomorrow: not "within 2 hours"


async def test_without_business_hours_the_clock_runs_around_the_clock(bot: FakeBot) -> None:
    text = await ask_for_a_person(bot, SATURDAY_NOON)
    assert "away" not in text and "by <b>2026-11-21 14:00</b>" in text
    assert "within 2 hours" in text


@pytest.mark.parametrize(
    ("who", "away"), [(WANG, "不在我们的营业时间内"), (CHAN, "不在我們的營業時間內")]
)
async def test_the_away_notice_in_chinese(office: FakeBot, who: Sender, away: str) -> None:
    text = await ask_for_a_person(office, SATURDAY_NOON, who)
    assert away in text and "2026-11-23 11:00" in text


async def test_the_promise_rule_directly(office: FakeBot) -> None:
    uow_factory = MemoryUnitOfWorkFactory()
    customer = Customer(
        telegram_user_id=1,
        chat_id=1,
        display_name="Ann",
        first_name="Ann",
        created_at=SATURDAY_NOON,
        updated_at=SATURDAY_NOON,
        timezone="Asia/Shanghai",
    )
    async with uow_factory() as uow:
        customer = await uow.customers.add(customer)
        promise = await hand_off(
            uow,
            customer,
            "hello",
            RequestReason.FAQ_MISS,
            SATURDAY_NOON,
            timedelta(minutes=120),
            "UTC",
            office.deps.policies.sla,
        )
    assert promise.away and promise.due_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert promise.params()["due_local"] == "2026-11-23 19:00"  # in the customer's zone
    assert promise.params()["within_key"] == ""
