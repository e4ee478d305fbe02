"""Loyalty rules (:mod:`bot.core.loyalty`): points from paid orders, taken back by a refund,
levels over the window, the balance after conversions, and the level setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.engagement.playbook import CouponKind
from bot.core.loyalty import (
    LoyaltyOrder,
    LoyaltyPolicy,
    LoyaltyRedemption,
    MemberLevel,
    can_redeem,
    parse_levels,
    points_for,
    standing,
)
from bot.core.models import Customer
from bot.core.records import OrderStatus
from bot.core.services.loyalty import convert_points
from tests.unit.conftest import FakeBot

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = LoyaltyPolicy()


def order(ref: str, amount: int, status: OrderStatus, days_ago: int) -> LoyaltyOrder:
    return LoyaltyOrder(ref, amount, status, NOW - timedelta(days=days_ago))


def test_points_are_whole_units_of_paid_orders() -> None:
    assert points_for(order("a", 12_399, OrderStatus.PAID, 1), POLICY) == 123
    assert points_for(order("a", 12_399, OrderStatus.DELIVERED, 1), POLICY) == 123
    assert points_for(order("a", 12_399, OrderStatus.PENDING, 1), POLICY) == 0
    assert points_for(order("a", 12_399, OrderStatus.CANCELLED, 1), POLICY) == 0
    doubled = LoyaltyPolicy(points_per_unit=2)
    assert points_for(order("a", 12_399, OrderStatus.PAID, 1), doubled) == 247


def test_a_refund_takes_the_points_back() -> None:
    paid = [order("a", 62_000, OrderStatus.PAID, 10), order("b", 10_000, OrderStatus.PAID, 5)]
    assert standing(paid, [], NOW, POLICY).balance == 720
    refunded = [paid[0], order("b", 10_000, OrderStatus.REFUNDED, 5)]
    now = standing(refunded, [], NOW, POLICY)
    assert now.balance == 620 and now.window_points == 620


def test_levels_count_the_window_only() -> None:
    orders = [
        order("old", 300_000, OrderStatus.PAID, 400),
        order("new", 62_000, OrderStatus.PAID, 30),
    ]
    current = standing(orders, [], NOW, POLICY)
    assert current.earned == 3620 and current.window_points == 620
    assert current.level == MemberLevel("silver", 500)
    assert current.next_level == MemberLevel("gold", 2000) and current.to_next == 1380
    top = standing([order("big", 250_000, OrderStatus.PAID, 1)], [], NOW, POLICY)
    assert top.level.name == "gold" and top.next_level is None and top.to_next is None
    nobody = standing([], [], NOW, POLICY)
    assert nobody.level.name == "member" and nobody.to_next == 500


def test_conversions_spend_the_balance() -> None:
    orders = [order("a", 62_000, OrderStatus.PAID, 10)]
    spent = [LoyaltyRedemption(1, 500, "AAAA-2222", NOW)]
    after = standing(orders, spent, NOW, POLICY)
    assert after.balance == 120 and after.conversions == 1
    assert after.level.name == "silver"  # spending points does not cost the level
    assert not can_redeem(after, POLICY)
    assert can_redeem(standing(orders, [], NOW, POLICY), POLICY)


def test_the_level_setting_is_checked() -> None:
    assert parse_levels("member:0, vip:100") == (MemberLevel("member", 0), MemberLevel("vip", 100))
    with pytest.raises(ValueError, match="start at 0"):
        parse_levels("a:5,b:10")
    with pytest.raises(ValueError, match="ascending"):
        parse_levels("a:0,b:10,c:10")
    with pytest.raises(ValueError, match="whole number"):
        parse_levels("a:0,b:ten")


async def test_one_button_converts_once(bot: FakeBot) -> None:
    """The button carries the count of conversions it was shown at: pressed twice (or
    delivered twice), it converts once, even with points for two coupons."""
    bot.clock.current = NOW
    async with bot.uow() as work:
        customer = await work.customers.add(
            Customer(
                telegram_user_id=5,
                chat_id=5,
                display_name="A",
                first_name="A",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await work.commit()
    assert customer.id is not None
    bot.uow.store.loyalty_orders[customer.id] = (order("a", 120_000, OrderStatus.PAID, 3),)
    first, after = await convert_points(bot.deps, customer, seen=0)
    again, _ = await convert_points(bot.deps, customer, seen=0)
    assert first is not None and again is None
    assert (
        first.kind is CouponKind.FIXED and first.value == 5000 and first.customer_id == customer.id
    )
    assert first.source_ref == f"loyalty:{customer.id}:1" and after.balance == 700
    second, _ = await convert_points(bot.deps, customer, seen=1)  # a fresh button
    assert second is not None and second.code != first.code
