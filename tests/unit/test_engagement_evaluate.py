"""The shipped playbook evaluated at controlled moments: who gets what, when, in which
language, and who is skipped and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.playbook_file import DEFAULT_PLAYBOOK, load_playbook, template_keys
from bot.app.settings import LOCALES
from bot.core.engagement.evaluate import Context, RuleResult, evaluate
from bot.core.engagement.facts import CustomerFacts, OrderFact, SentEngagement
from bot.core.engagement.guards import SkipReason
from bot.core.engagement.news import NewsItem
from bot.core.engagement.playbook import Condition
from bot.core.models import Reachability
from bot.core.policies import EngagementPolicy
from bot.core.records import OrderStatus
from bot.core.staff_tasks import TaskKind
from bot.core.tiers import Lifecycle, Tier
from scripts_i18n import ROOT

PLAYBOOK = load_playbook(DEFAULT_PLAYBOOK, template_keys(ROOT, LOCALES))
POLICY = EngagementPolicy()
CONTEXT = Context(locales=LOCALES, default_locale="en", default_timezone="UTC")
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def customer(customer_id: int = 1, **facts: object) -> CustomerFacts:
    base: dict[str, object] = {
        "customer_id": customer_id,
        "name": "Ann",
        "chat_id": 1000 + customer_id,
    }
    base.update(facts)
    return CustomerFacts(**base)  # type: ignore[arg-type]


def run(
    *customers: CustomerFacts, now: datetime = NOON, context: Context = CONTEXT
) -> dict[str, RuleResult]:
    return {r.rule_id: r for r in evaluate(PLAYBOOK, customers, now, POLICY, context)}


def news(n: int, locale: str = "en", days_ago: float = 1) -> NewsItem:
    return NewsItem(n, locale, f"title {n}", f"body {n}", NOON - timedelta(days=days_ago))


NEWS = replace(CONTEXT, news=(news(1),))


def planned(results: dict[str, RuleResult]) -> dict[str, list[int]]:
    return {rule: [p.customer_id for p in r.planned] for rule, r in results.items() if r.planned}


def skipped(results: dict[str, RuleResult]) -> dict[str, list[tuple[int, SkipReason]]]:
    return {
        rule: [(s.customer_id, s.reason) for s in r.skipped]
        for rule, r in results.items()
        if r.skipped
    }


def paid(ref: str, at: datetime, *, coupon: bool = False) -> OrderFact:
    return OrderFact(ref, OrderStatus.PAID, at, paid_at=at, used_coupon=coupon)


def test_high_tier_gets_the_advisor_task_the_event_and_the_survey() -> None:
    """The check-in is an advisor's task, not a message: it takes no place under the cap."""
    high = customer(tier=Tier.HIGH, stage=Lifecycle.ACTIVE, consent=True)
    results = run(high)
    assert planned(results) == {"high-checkin": [1], "high-member-event": [1], "survey-high": [1]}
    assert skipped(results) == {}
    checkin = results["high-checkin"].planned[0]
    assert checkin.deferred and checkin.task is TaskKind.ADVISOR_CHECKIN
    assert checkin.key == "engage:high-checkin:1:2026-12"
    assert (checkin.template, checkin.locale, checkin.not_before) == (
        "engage.high.checkin",
        "en",
        NOON,
    )
    assert results["high-member-event"].planned[0].key == "engage:high-member-event:1:2026Q4"


def test_a_week_later_the_cap_still_counts_what_was_sent_then_lets_the_survey_go() -> None:
    """The check-in card went to the advisor (no cap), the message they chose to send did."""
    sent = (
        SentEngagement("engage:high-checkin:1:2026-12", NOON),
        SentEngagement("engage:high-checkin:1:2026-12:message", NOON),
        SentEngagement("engage:high-member-event:1:2026Q4", NOON),
    )
    high = customer(tier=Tier.HIGH, stage=Lifecycle.ACTIVE, consent=True, sent=sent)
    six_days = run(high, now=NOON + timedelta(days=6))
    assert skipped(six_days)["survey-high"] == [(1, SkipReason.CAP)]
    assert skipped(six_days)["high-checkin"] == [(1, SkipReason.ALREADY_SENT)]
    week = run(high, now=NOON + timedelta(days=7))
    assert planned(week) == {"survey-high": [1]}


def test_a_check_in_card_alone_does_not_count_for_the_cap() -> None:
    sent = (
        SentEngagement("engage:high-checkin:1:2026-12", NOON),
        SentEngagement("engage:high-member-event:1:2026Q4", NOON),
    )
    high = customer(tier=Tier.HIGH, stage=Lifecycle.ACTIVE, consent=True, sent=sent)
    assert planned(run(high, now=NOON + timedelta(days=1))) == {"survey-high": [1]}


def test_mid_and_base_tiers_and_their_keys() -> None:
    mid = customer(1, tier=Tier.MID, stage=Lifecycle.ACTIVE, consent=True)
    base = customer(2, tier=Tier.BASE, stage=Lifecycle.ACTIVE, consent=True)
    results = run(mid, base, context=NEWS)
    assert planned(results) == {
        "mid-news": [1],
        "base-coupon": [2],
        "survey-mid": [1],
        "survey-base": [2],
    }
    assert results["mid-news"].planned[0].key == "engage:mid-news:1:2026-W49"
    coupon = results["base-coupon"].planned[0].coupon
    assert coupon is not None and coupon.value == 10


def test_news_goes_out_only_when_there_is_something_new_in_the_customer_s_language() -> None:
    mid = customer(1, tier=Tier.MID, stage=Lifecycle.ACTIVE, consent=True)
    quiet = run(mid)  # no news at all: nothing sent, and no place under the cap taken
    assert skipped(quiet)["mid-news"] == [(1, SkipReason.NOTHING_NEW)]
    assert planned(quiet) == {"survey-mid": [1]}
    stale = replace(
        CONTEXT, news=(news(1, days_ago=POLICY.news_fresh_days + 1), news(2, "zh-Hans"))
    )
    assert skipped(run(mid, context=stale))["mid-news"] == [(1, SkipReason.NOTHING_NEW)]
    items = tuple(news(n, days_ago=n) for n in range(1, 6))
    [plan] = run(mid, context=replace(CONTEXT, news=items))["mid-news"].planned
    assert [i.id for i in plan.news] == [1, 2, 3][: POLICY.news_max_items]  # newest first
    zh = customer(2, tier=Tier.MID, stage=Lifecycle.ACTIVE, consent=True, language="zh-Hans")
    [plan] = run(zh, context=stale)["mid-news"].planned
    assert [i.id for i in plan.news] == [2]


def test_news_already_sent_is_not_sent_again_in_the_next_period() -> None:
    sent = (SentEngagement("engage:mid-news:1:2026-W47", NOON - timedelta(days=14)),)
    mid = customer(1, tier=Tier.MID, stage=Lifecycle.ACTIVE, consent=True, sent=sent)
    before = replace(CONTEXT, news=(news(1, days_ago=14.5),))  # it went out with that message
    assert skipped(run(mid, context=before))["mid-news"] == [(1, SkipReason.NOTHING_NEW)]
    after = replace(CONTEXT, news=(news(1, days_ago=14.5), news(2, days_ago=3)))
    [plan] = run(mid, context=after)["mid-news"].planned
    assert [i.id for i in plan.news] == [2]


def test_marketing_needs_consent_and_nothing_goes_to_blocked_customers() -> None:
    no_consent = customer(1, tier=Tier.BASE, stage=Lifecycle.ACTIVE)
    blocked = customer(
        2, tier=Tier.BASE, stage=Lifecycle.ACTIVE, consent=True, reachability=Reachability.BLOCKED
    )
    unlinked = customer(3, tier=Tier.BASE, stage=Lifecycle.ACTIVE, consent=True, chat_id=None)
    results = run(no_consent, blocked, unlinked)
    assert planned(results) == {}
    assert skipped(results)["base-coupon"] == [
        (1, SkipReason.NO_CONSENT),
        (2, SkipReason.BLOCKED),
        (3, SkipReason.NOT_LINKED),
    ]


def test_prospects_are_welcomed_once_with_the_first_order_offer() -> None:
    prospect = customer(consent=True)
    results = run(prospect)
    assert planned(results) == {"prospect-welcome": [1]}
    welcome = results["prospect-welcome"].planned[0]
    assert welcome.key == "engage:prospect-welcome:1:once"
    assert welcome.coupon is not None and welcome.coupon.value == 20
    again = customer(consent=True, sent=(SentEngagement(welcome.key, NOON),))
    later = run(again, now=NOON + timedelta(days=200))
    assert skipped(later) == {"prospect-welcome": [(1, SkipReason.ALREADY_SENT)]}


def test_new_customers_get_the_onboarding_check_in_on_day_7() -> None:
    first = NOON - timedelta(days=7)
    new = customer(tier=Tier.MID, stage=Lifecycle.NEW, consent=True, orders=(paid("A1", first),))
    assert "new-onboarding" not in planned(run(new, now=NOON - timedelta(minutes=1)))
    results = run(new)
    assert results["new-onboarding"].planned[0].key == "engage:new-onboarding:1:first"
    assert "new-onboarding" not in planned(run(new, now=first + timedelta(days=10)))


@pytest.mark.parametrize(
    ("age", "due"),
    [
        (timedelta(minutes=59), False),
        (timedelta(hours=1), True),
        (timedelta(hours=23, minutes=59), True),
        (timedelta(hours=24), False),
    ],
)
def test_a_payment_reminder_after_1_hour_and_never_after_24(age: timedelta, due: bool) -> None:
    # at 23:00 UTC, without consent: a service message ignores both
    late = NOON.replace(hour=23)
    unpaid = customer(orders=(OrderFact("A7", OrderStatus.PENDING, late - age),))
    results = run(unpaid, now=late)
    reminders = results["payment-reminder"].planned
    assert bool(reminders) is due
    if due:
        assert reminders[0].key == "engage:payment-reminder:1:order-A7"
        assert reminders[0].order_ref == "A7" and reminders[0].not_before == late
        assert not reminders[0].held


def test_a_paid_order_gets_no_reminder() -> None:
    created = NOON - timedelta(hours=2)
    done = customer(orders=(paid("A7", created),))
    assert run(done)["payment-reminder"].planned == []


def test_a_delivered_order_gets_its_revisit_7_days_later() -> None:
    delivered = NOON - timedelta(days=7)
    order = OrderFact(
        "B2",
        OrderStatus.DELIVERED,
        delivered - timedelta(days=3),
        delivered - timedelta(days=2),
        delivered,
    )
    someone = customer(tier=Tier.MID, stage=Lifecycle.ACTIVE, orders=(order,))
    assert run(someone)["delivered-revisit"].planned[0].key == (
        "engage:delivered-revisit:1:order-B2"
    )
    assert run(someone, now=NOON - timedelta(hours=1))["delivered-revisit"].planned == []


def dormant(**facts: object) -> CustomerFacts:
    last = NOON - timedelta(days=120)
    base: dict[str, object] = {
        "tier": Tier.BASE,
        "stage": Lifecycle.DORMANT,
        "consent": True,
        "orders": (paid("C1", last),),
        "sent": (SentEngagement("engage:survey-base:1:2026", NOON - timedelta(days=100)),),
    }
    base.update(facts)
    return customer(1, **base)


def test_win_back_variants_follow_the_data_with_their_reasons() -> None:
    plain = run(dormant())["win-back"].planned[0]
    assert (plain.variant, plain.template, plain.variant_reason) == (
        Condition.DEFAULT,
        "engage.winback.default",
        "default",
    )
    tagged = run(dormant(tags=frozenset({"value-seeker"})))["win-back"].planned[0]
    assert (tagged.variant, tagged.variant_reason) == (
        Condition.PRICE_SENSITIVE,
        "tagged value-seeker",
    )
    coupons = (
        paid("C1", NOON - timedelta(days=200), coupon=True),
        paid("C2", NOON - timedelta(days=120), coupon=True),
        paid("C3", NOON - timedelta(days=150)),
    )
    by_coupons = run(dormant(orders=coupons))["win-back"].planned[0]
    assert by_coupons.variant_reason == "2 of 3 orders used a coupon"
    complaint = NOON - timedelta(days=30)
    unhappy = run(dormant(complaints=(complaint,), tags=frozenset({"value-seeker"})))
    chosen = unhappy["win-back"].planned[0]
    assert (chosen.variant, chosen.template) == (
        Condition.UNHAPPY_WITH_SERVICE,
        "engage.winback.unhappy",
    )
    assert chosen.variant_reason == "complaint on 2026-11-01"
    low = run(dormant(ratings=((NOON - timedelta(days=10), 2),)))["win-back"].planned[0]
    assert low.variant_reason == "rating 2 on 2026-11-21"
    old = run(dormant(complaints=(NOON - timedelta(days=181),)))["win-back"].planned[0]
    assert old.variant is Condition.DEFAULT


def test_win_back_at_most_once_per_90_days_even_across_periods() -> None:
    earlier = SentEngagement("engage:win-back:1:2026-09-12", NOON - timedelta(days=60))
    results = run(dormant(sent=(earlier,)))
    assert skipped(results)["win-back"] == [(1, SkipReason.TOO_SOON)]
    after = run(dormant(sent=(earlier,)), now=NOON + timedelta(days=30))
    assert planned(after)["win-back"] == [1]


def test_a_birthday_in_the_customers_zone_is_held_until_the_morning() -> None:
    # 17:00 UTC on 1 December is 01:00 on 2 December in Shanghai
    now = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    born = customer(
        consent=True,
        birthday=date(1990, 12, 2),
        timezone="Asia/Shanghai",
        sent=(SentEngagement("engage:prospect-welcome:1:once", now - timedelta(days=30)),),
    )
    results = run(born, now=now)
    greeting = results["birthday"].planned[0]
    assert greeting.key == "engage:birthday:1:2026" and greeting.held
    assert greeting.not_before == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 local
    in_london = customer(consent=True, birthday=date(1990, 12, 2), timezone="Europe/London")
    assert "birthday" not in planned(run(in_london, now=now))  # still 1 December there


def test_the_locale_follows_the_customer_and_telegram() -> None:
    hant = customer(1, consent=True, language_code="zh-TW")
    hans = customer(2, consent=True, language="zh-Hans", language_code="en")
    results = run(hant, hans)
    assert [(p.customer_id, p.locale) for p in results["prospect-welcome"].planned] == [
        (1, "zh-Hant"),
        (2, "zh-Hans"),
    ]


def test_a_second_evaluation_with_the_first_plans_written_plans_nothing_new() -> None:
    people = [
        customer(1, tier=Tier.HIGH, stage=Lifecycle.ACTIVE, consent=True),
        customer(2, tier=Tier.MID, stage=Lifecycle.ACTIVE, consent=True),
        customer(3, consent=True),
    ]
    first = run(*people)
    written: dict[int, list[SentEngagement]] = {}
    for result in first.values():
        for p in result.planned:
            written.setdefault(p.customer_id, []).append(SentEngagement(p.key, p.not_before))
    again = [
        customer(
            c.customer_id,
            tier=c.tier,
            stage=c.stage,
            consent=True,
            sent=tuple(written.get(c.customer_id, ())),
        )
        for c in people
    ]
    assert planned(run(*again, now=NOON + timedelta(hours=1))) == {}


def test_only_the_asked_rules_are_reported() -> None:
    results = evaluate(
        PLAYBOOK, [customer(consent=True)], NOON, POLICY, CONTEXT, rule_ids={"birthday"}
    )
    assert [r.rule_id for r in results] == ["birthday"]
