"""Coupon rules (:mod:`bot.core.coupons`): codes easy to type and hard to guess, the validity
window, and every outcome of an order carrying a code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.coupons import (
    ALPHABET,
    Coupon,
    CouponSource,
    OrderCoupon,
    Redemption,
    issue,
    judge,
    new_code,
    normalise_code,
)
from bot.core.engagement.playbook import CouponKind, CouponSpec
from bot.core.records import OrderStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_codes_are_grouped_without_look_alikes_and_do_not_repeat() -> None:
    codes = {new_code(8) for _ in range(5000)}
    assert len(codes) == 5000
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(ALPHABET)
    assert not set("01OI") & set(ALPHABET)
    assert new_code(12).count("-") == 2
    with pytest.raises(ValueError):
        new_code(6)


def test_codes_are_read_as_customers_type_them() -> None:
    assert normalise_code("k7qm 3xhp") == "K7QM-3XHP"
    assert normalise_code(" K7QM-3XHP ") == "K7QM-3XHP"
    assert normalise_code("K7QM3XHP") == "K7QM-3XHP"
    assert normalise_code("WELCOME10") is None  # O, 1, 0: the shop's own code, not ours
    assert normalise_code("SPRING5") is None
    assert normalise_code("") is None


def coupon(**overrides: object) -> Coupon:
    spec = CouponSpec(CouponKind.PERCENT, 10, min_spend_cents=5000, valid_days=30)
    base = issue(
        spec,
        code="K7QM-3XHP",
        customer_id=1,
        currency="CNY",
        source=CouponSource.RULE,
        source_ref="engage:base-coupon:1:2026-12",
        now=NOW,
    )
    return replace(base, id=7, **overrides)  # type: ignore[arg-type]


def order(**overrides: object) -> OrderCoupon:
    values: dict[str, object] = {
        "order_id": "O-1",
        "customer_id": 1,
        "code": "k7qm-3xhp",
        "created_at": NOW + timedelta(days=3),
        "amount_cents": 8000,
        "currency": "CNY",
        "status": OrderStatus.PAID,
    }
    values.update(overrides)
    return OrderCoupon(**values)  # type: ignore[arg-type]


def test_a_coupon_is_valid_through_its_last_whole_day() -> None:
    c = coupon()
    assert c.valid_from == NOW and c.last_day == date(2026, 12, 31)
    assert c.valid_at(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert not c.valid_at(datetime(2027, 1, 1, tzinfo=UTC))
    assert not c.valid_at(NOW - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("the_coupon", "the_order", "outcome"),
    [
        (coupon(), order(), Redemption.REDEEMED),
        (None, order(), Redemption.UNKNOWN),
        (coupon(), order(customer_id=2), Redemption.OTHER_CUSTOMER),
        (coupon(), order(created_at=NOW - timedelta(hours=1)), Redemption.NOT_YET_VALID),
        (coupon(), order(created_at=datetime(2027, 1, 1, tzinfo=UTC)), Redemption.EXPIRED),
        (coupon(redeemed_at=NOW, redeemed_order_id="O-0"), order(), Redemption.USED),
        (
            coupon(redeemed_at=NOW, redeemed_order_id="O-1"),
            order(),
            Redemption.ALREADY_THIS_ORDER,
        ),
        (coupon(), order(status=OrderStatus.CANCELLED), Redemption.CANCELLED),
        (coupon(), order(amount_cents=4999), Redemption.BELOW_MINIMUM),
        (coupon(), order(currency="USD"), Redemption.WRONG_CURRENCY),
        (coupon(min_spend_cents=0), order(currency="USD"), Redemption.REDEEMED),
    ],
)
def test_what_an_order_with_a_code_comes_to(
    the_coupon: Coupon | None, the_order: OrderCoupon, outcome: Redemption
) -> None:
    assert judge(the_coupon, the_order) is outcome


def test_usable_means_valid_now_and_unused() -> None:
    assert coupon().usable_at(NOW)
    assert not coupon(redeemed_at=NOW, redeemed_order_id="O-0").usable_at(NOW)
    assert not coupon().usable_at(datetime(2027, 1, 1, tzinfo=UTC))
