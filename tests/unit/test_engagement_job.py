"""The playbook job over the fakes: what is due goes to the outbox's proactive lane under its
(rule, customer, period) key and is sent; a second run enqueues nothing; held messages wait
for the quiet hours to end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.app.jobs import engagement as engagement_job
from bot.core.consent import OPT_OUT_DATA
from bot.core.dispatch import Dispatcher
from bot.core.engagement.facts import OrderFact
from bot.core.engagement.news import NewsItem
from bot.core.engagement.playbook import CouponKind
from bot.core.models import Customer
from bot.core.outbox_model import Lane, OutboxMessage, OutboxState
from bot.core.records import CustomerProfile, OrderStatus, TierInfo
from bot.core.services.engagement import run_playbook
from bot.core.tiers import Lifecycle, Tier
from bot.handlers.routes import ROUTING
from tests.fakes_engagement import MemoryEngagementFacts
from tests.unit.conftest import FakeBot

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def add(
    bot: FakeBot,
    n: int,
    name: str,
    tier: Tier,
    *,
    consent: bool = True,
    zone: str | None = None,
    language: str | None = None,
    birthday: date | None = None,
) -> int:
    async with bot.uow() as work:
        customer = await work.customers.add(
            Customer(
                telegram_user_id=900 + n,
                chat_id=900 + n,
                display_name=name,
                first_name=name,
                created_at=NOON - timedelta(days=300),
                updated_at=NOON - timedelta(days=300),
                timezone=zone,
                language=language,
            )
        )
        assert customer.id is not None
        await work.records.save_profile(
            CustomerProfile(customer.id, marketing_consent=consent, birthday=birthday)
        )
        await work.commit()
    stage = Lifecycle.PROSPECT if tier is Tier.PROSPECT else Lifecycle.ACTIVE
    bot.uow.store.standings[customer.id] = TierInfo(
        customer.id, tier, stage, None, 10, 3, 9000, 3, 3, 3, NOON.date()
    )
    return customer.id


def outbox(bot: FakeBot) -> dict[str, OutboxMessage]:
    return {row.key: row for row in bot.uow.store.outbox.values()}


@pytest.fixture
def shop(bot: FakeBot) -> FakeBot:
    bot.clock.current = NOON
    return bot


async def test_due_messages_are_queued_once_and_sent_once(shop: FakeBot) -> None:
    bot = shop
    ann = await add(bot, 1, "Ann", Tier.BASE)
    bob = await add(bot, 2, "Bob", Tier.BASE, consent=False)
    bot.uow.store.orders[bob] = (OrderFact("B-9", OrderStatus.PENDING, NOON - timedelta(hours=2)),)
    dispatcher = Dispatcher(bot.deps, ROUTING)

    await engagement_job.run(dispatcher)
    rows = outbox(bot)
    assert set(rows) == {
        f"engage:base-coupon:{ann}:2026-12",
        f"engage:survey-base:{ann}:2026",
        f"engage:payment-reminder:{bob}:order-B-9",
        f"profile:{bob}:language",  # a first order: the profile question (bot.core.profile)
    }
    coupon = rows[f"engage:base-coupon:{ann}:2026-12"]
    assert coupon.lane is Lane.PROACTIVE and coupon.state is OutboxState.SENT
    assert coupon.message.about_customer_id == ann and coupon.message.chat_id == 901
    assert "Ann" in coupon.message.text and "10 % off" in coupon.message.text
    assert [[b.data for b in row] for row in coupon.message.buttons] == [[OPT_OUT_DATA]]
    reminder = rows[f"engage:payment-reminder:{bob}:order-B-9"]
    assert "B-9" in reminder.message.text and reminder.message.buttons == ()
    assert rows[f"profile:{bob}:language"].state is OutboxState.SENT
    assert len(bot.messenger.sent) == 4

    [issued] = bot.uow.store.coupons.values()  # the coupon of the coupon rule, for Ann
    assert issued.customer_id == ann and issued.source_ref == coupon.key
    assert (issued.kind, issued.value, issued.currency) == (CouponKind.PERCENT, 10, "CNY")
    assert f"with the code {issued.code}, valid through 2026-12-31" in coupon.message.text

    await engagement_job.run(dispatcher)  # run again, an hour later
    bot.clock.current = NOON + timedelta(hours=1)
    await engagement_job.run(dispatcher)
    assert len(outbox(bot)) == 4 and len(bot.messenger.sent) == 4
    assert list(bot.uow.store.coupons.values()) == [issued]  # one coupon per message


async def test_a_message_in_the_quiet_hours_is_queued_for_the_morning(shop: FakeBot) -> None:
    bot = shop
    bot.clock.current = NOON.replace(hour=14)  # 22:00 in Shanghai
    ann = await add(bot, 1, "Ann", Tier.BASE, zone="Asia/Shanghai", language="zh-Hant")
    report = await run_playbook(bot.deps)
    assert report.queued == []  # nothing due now: both wait for 09:00 there
    row = outbox(bot)[f"engage:base-coupon:{ann}:2026-12"]
    assert row.not_before == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert row.state is OutboxState.PENDING
    assert "折扣" in row.message.text  # worded in the customer's language


async def test_the_cap_counts_what_an_earlier_run_queued(shop: FakeBot) -> None:
    bot = shop
    ann = await add(bot, 1, "Ann", Tier.BASE, birthday=date(1990, 12, 3))
    first = await run_playbook(bot.deps)
    assert dict(first.written) == {"base-coupon": 1, "survey-base": 1}
    bot.clock.current = NOON + timedelta(days=2)  # her birthday: two already this week
    second = await run_playbook(bot.deps)
    assert second.written == {} and second.skipped["cap"] == 1
    bot.clock.current = NOON + timedelta(days=5)  # the last grace day: still capped
    assert (await run_playbook(bot.deps)).skipped["cap"] == 1
    bot.clock.current = NOON + timedelta(days=7)  # the cap has room, the birthday is over
    assert (await run_playbook(bot.deps)).written == {}
    assert f"engage:birthday:{ann}:2026" not in outbox(bot)


async def test_news_is_sent_once_in_the_customer_s_language_and_only_when_there_is_some(
    shop: FakeBot,
) -> None:
    bot = shop
    await add(bot, 1, "Mia", Tier.MID)
    await add(bot, 2, "Lin", Tier.MID, language="zh-Hans")
    report = await run_playbook(bot.deps)
    assert report.skipped["nothing_new"] == 2 and not report.unrendered
    assert sorted(k.split(":")[1] for k in outbox(bot)) == ["survey-mid", "survey-mid"]

    async with bot.uow() as work:
        await work.news.add(NewsItem(0, "en", "Autumn teas <new>", "Oolong is back.", NOON))
        await work.commit()
    bot.clock.current = NOON + timedelta(hours=1)
    report = await run_playbook(bot.deps)
    assert report.written == {"mid-news": 1}  # Mia; Lin reads Chinese and there is none
    [news] = [row for key, row in outbox(bot).items() if key.startswith("engage:mid-news:")]
    assert news.message.chat_id == 901
    assert "<b>Autumn teas &lt;new&gt;</b>\nOolong is back." in news.message.text

    bot.clock.current = NOON + timedelta(days=14, hours=1)  # the next fortnight: nothing new
    assert "mid-news" not in (await run_playbook(bot.deps)).written


async def test_an_empty_playbook_sends_nothing(shop: FakeBot) -> None:
    bot = shop
    await add(bot, 1, "Ann", Tier.BASE)
    engagement = replace(
        bot.deps.policies.engagement,
        playbook=replace(bot.deps.policies.engagement.playbook, rules=(), by_id={}),
    )
    bot.deps = replace(bot.deps, policies=replace(bot.deps.policies, engagement=engagement))
    assert (await run_playbook(bot.deps)).written == {}
    assert outbox(bot) == {}


async def test_a_message_another_process_wrote_first_issues_no_coupon(
    shop: FakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes read the same facts; the second finds the key taken when it writes the
    message: it issues no coupon either (the coupon goes with the outbox row, or not at all)."""
    bot = shop
    await add(bot, 1, "Ann", Tier.BASE)
    first = await run_playbook(bot.deps)
    assert first.coupons == 1

    read = MemoryEngagementFacts.customer_facts

    async def stale(self: MemoryEngagementFacts, after_id: int = 0, limit: int = 500) -> Any:
        return [replace(f, sent=()) for f in await read(self, after_id, limit)]

    monkeypatch.setattr(MemoryEngagementFacts, "customer_facts", stale)
    second = await run_playbook(bot.deps)
    assert second.already == 2 and second.coupons == 0 and not second.written
    assert len(bot.uow.store.coupons) == 1
