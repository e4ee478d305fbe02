"""Loyalty points and member levels (SPEC §9), derived, never counted up.

A customer's points are not a counter that each event changes: they are worked out from
their orders and the ledger of points turned into coupons, every time, so they are exact
whatever order the events arrive in and however often an order is imported again.

* **Earned** — each paid (or delivered) order earns ``amount × points_per_unit`` points
  (whole points, rounded down per order). A refunded or cancelled order earns nothing: when an
  order is refunded, its points are gone with it.
* **Balance** — everything earned minus everything redeemed (the ledger). A refund after the
  points were spent can leave it below zero; the customer then earns their way back.
* **MemberLevel** — by the points earned in the last ``window_days`` (paid within the window): the
  highest level whose threshold they reach. Re-evaluated at every look, so it moves up and
  down as orders age out of the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from bot.core.records import OrderStatus


@dataclass(frozen=True, slots=True)
class MemberLevel:
    name: str
    """Also the template key's last part: ``loyalty.level.<name>``."""
    min_points: int


@dataclass(frozen=True, slots=True)
class LoyaltyPolicy:
    points_per_unit: int = 1
    """Points per currency unit of a paid order (1 per yuan by default)."""
    window_days: int = 365
    """Levels count the points of orders paid within this many days."""
    levels: tuple[MemberLevel, ...] = (
        MemberLevel("member", 0),
        MemberLevel("silver", 500),
        MemberLevel("gold", 2000),
    )
    """Ascending thresholds; the first is where everybody starts."""
    redeem_points: int = 500
    """Points one coupon costs."""
    coupon_cents: int = 5000
    """What that coupon takes off an order (cents of the shop's currency)."""
    coupon_valid_days: int = 30


@dataclass(frozen=True, slots=True)
class LoyaltyOrder:
    """An order as loyalty sees it."""

    order_id: str
    amount_cents: int
    status: OrderStatus
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class LoyaltyRedemption:
    """One entry of the ledger: points turned into the coupon with `coupon_code`."""

    customer_id: int
    points: int
    coupon_code: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Standing:
    earned: int
    redeemed: int
    window_points: int
    level: MemberLevel
    next_level: MemberLevel | None
    conversions: int = 0
    """Entries in the ledger: a button names the count it was shown at, so pressing it twice
    converts once."""

    @property
    def balance(self) -> int:
        return self.earned - self.redeemed

    @property
    def to_next(self) -> int | None:
        """Points (within the window) still needed for the next level; None at the top."""
        return None if self.next_level is None else self.next_level.min_points - self.window_points


def points_for(order: LoyaltyOrder, policy: LoyaltyPolicy) -> int:
    """What the order earns now: nothing unless paid (or delivered)."""
    if not order.status.counts_as_paid:
        return 0
    return order.amount_cents * policy.points_per_unit // 100


def level_for(
    points: int, levels: Sequence[MemberLevel]
) -> tuple[MemberLevel, MemberLevel | None]:
    """The level `points` reach, and the one after it (None at the top)."""
    reached = levels[0]
    for n, level in enumerate(levels):
        if points >= level.min_points:
            reached = level
        else:
            return reached, levels[n]
    return reached, None


def standing(
    orders: Iterable[LoyaltyOrder],
    redemptions: Iterable[LoyaltyRedemption],
    now: datetime,
    policy: LoyaltyPolicy,
) -> Standing:
    """The customer's points and level at `now` (see the module docstring)."""
    since = now - timedelta(days=policy.window_days)
    earned = window = 0
    for order in orders:
        points = points_for(order, policy)
        earned += points
        if order.paid_at is not None and since <= order.paid_at <= now:
            window += points
    level, following = level_for(window, policy.levels)
    ledger = list(redemptions)
    redeemed = sum(r.points for r in ledger)
    return Standing(earned, redeemed, window, level, following, len(ledger))


def can_redeem(current: Standing, policy: LoyaltyPolicy) -> bool:
    return policy.redeem_points > 0 and current.balance >= policy.redeem_points


def parse_levels(text: str) -> tuple[MemberLevel, ...]:
    """``"member:0,silver:500,gold:2000"`` → levels; ValueError naming what is wrong (names
    of letters, digits, - and _; thresholds ascending from 0)."""
    levels: list[MemberLevel] = []
    for item in text.split(","):
        name, _, number = item.strip().partition(":")
        name = name.strip().lower()
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"loyalty level {item.strip()!r}: expected name:points")
        if not number.strip().isdigit():
            raise ValueError(f"loyalty level {name!r}: points must be a whole number")
        levels.append(MemberLevel(name, int(number)))
    if levels[0].min_points != 0:
        raise ValueError("the first loyalty level must start at 0 points")
    if any(b.min_points <= a.min_points for a, b in pairwise(levels)):
        raise ValueError("loyalty levels must have ascending points")
    return tuple(levels)
