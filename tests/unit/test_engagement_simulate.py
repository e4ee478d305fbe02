"""The playbook over simulated days (pure): orders as they stood on each day, what was "sent"
carried forward, the cap, and the most marketing messages in 7 days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.core.engagement.facts import CustomerFacts, OrderFact
from bot.core.engagement.simulate import (
    UNRENDERED,
    most_within,
    order_as_of,
    simulate,
    standings,
)
from bot.core.records import OrderStatus
from bot.core.tiers import Lifecycle, Tier, TierPolicy
from tests.unit.test_engagement_evaluate import CONTEXT, PLAYBOOK, POLICY, customer

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def year(*customers: CustomerFacts, wordable: bool = True, days: int = 365) -> dict[str, Any]:
    start = T0.date()
    result = simulate(
        PLAYBOOK,
        customers,
        start,
        start + timedelta(days=days - 1),
        policy=POLICY,
        context=CONTEXT,
        tier_policy=TierPolicy(),
        run_at=time(10),
        wordable=lambda planned: wordable or not planned.marketing,
    )
    return result.as_json()


def test_most_within_counts_the_busiest_seven_days() -> None:
    at = [T0, T0 + 2 * DAY, T0 + 6 * DAY, T0 + 7 * DAY, T0 + 30 * DAY]
    assert most_within(at, 7 * DAY) == 3  # T0+0, +2, +6; +7 is a full week after T0
    assert most_within([], 7 * DAY) == 0


def test_an_order_stands_as_it_was_on_the_day() -> None:
    order = OrderFact("A", OrderStatus.DELIVERED, T0, paid_at=T0 + DAY, delivered_at=T0 + 3 * DAY)
    assert order_as_of(order, T0 - DAY) is None
    before_paid = order_as_of(order, T0 + DAY / 2)
    assert before_paid is not None and before_paid.status is OrderStatus.PENDING
    assert before_paid.paid_at is None
    paid = order_as_of(order, T0 + 2 * DAY)
    assert paid is not None and paid.status is OrderStatus.PAID and paid.delivered_at is None
    assert order_as_of(order, T0 + 4 * DAY) == order


def test_standings_follow_the_orders_of_the_day() -> None:
    order = OrderFact("A", OrderStatus.PAID, T0, paid_at=T0, amount_cents=100)
    assert standings({1: ()}, T0.date(), TierPolicy())[1][:2] == (
        Tier.PROSPECT,
        Lifecycle.PROSPECT,
    )
    tier, stage, _ = standings({1: (order,)}, T0.date() + 100 * DAY, TierPolicy())[1]
    assert tier is not Tier.PROSPECT and stage is Lifecycle.DORMANT


def test_an_unpaid_order_is_reminded_once_over_the_days() -> None:
    order = OrderFact("A", OrderStatus.PENDING, T0)  # created 08:00, the run at 10:00
    report = year(customer(orders=(order,)), days=5)
    assert report["rules"]["payment-reminder"] == {
        "kind": "service",
        "sent": 1,
        "tasks": 0,
        "skipped": {},
    }


def test_what_was_sent_is_carried_forward_and_the_cap_holds() -> None:
    born = date(1990, T0.month, 10)
    keen = customer(consent=True, birthday=born, orders=(order_paid(T0 - 30 * DAY),))
    report = year(keen)
    rules = report["rules"]
    assert rules["prospect-welcome"]["sent"] == 0  # she has ordered
    assert rules["birthday"]["sent"] == 1
    assert rules["birthday"]["skipped"]["already_sent"] >= 1
    assert 1 <= report["max_marketing_in_7_days"] <= POLICY.marketing_cap


def test_a_message_that_cannot_be_worded_is_not_sent() -> None:
    report = year(customer(consent=True), wordable=False, days=3)
    welcome = report["rules"]["prospect-welcome"]
    assert welcome["sent"] == 0 and welcome["skipped"][UNRENDERED] == 3
    assert report["max_marketing_in_7_days"] == 0


def test_a_span_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        simulate(
            PLAYBOOK,
            [],
            T0.date(),
            T0.date() - DAY,
            policy=POLICY,
            context=CONTEXT,
            tier_policy=TierPolicy(),
            run_at=time(10),
            wordable=lambda planned: True,
        )


def order_paid(at: datetime) -> OrderFact:
    return OrderFact("P", OrderStatus.PAID, at, paid_at=at, amount_cents=5000)
