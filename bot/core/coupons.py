"""Coupons (SPEC §9): codes, issuing and the rule of redemption, as pure functions.

A :class:`Coupon` belongs to one customer. Its code is drawn with :mod:`secrets` from
:data:`ALPHABET` — digits and capitals without the look-alikes 0/O and 1/I — and shown in
groups of four (``K7QM-3XHP``); customers may type it in any case, with or without dashes or
spaces (:func:`normalise_code`). It is a percentage off, a fixed amount off (cents, in its
currency) or free shipping, with an optional minimum spend, valid from its issue for the
days its specification says, and single use.

Where it comes from is its :class:`CouponSource` and a reference: for a playbook rule the
engagement key of the message that carried it (``engage:<rule>:<customer>:<period>``), so one
message issues one coupon however often the job runs; for a campaign ``campaign:<id>``; for
loyalty the ledger entry.

**Redemption** (:func:`judge`): an order redeems a coupon when the code is one of ours, it
belongs to the order's customer, the order was placed within the validity window, the coupon
is unused (or already redeemed by this very order: a re-import changes nothing), the order is
not cancelled, and it meets the minimum spend in the coupon's currency. Anything else is not
redeemed and is counted by why.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.core.engagement.playbook import CouponKind, CouponSpec
from bot.core.records import OrderStatus

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 symbols, 5 bits each: no 0, O, 1 or I."""
GROUP = 4
"""Symbols per group of a shown code."""


class CouponSource(StrEnum):
    RULE = "rule"
    CAMPAIGN = "campaign"
    LOYALTY = "loyalty"


@dataclass(frozen=True, slots=True)
class Coupon:
    """One issued coupon. `value` is the percentage (1–100) or the amount off in cents; free
    shipping has none. `valid_until` is exclusive. The redemption fields are set together."""

    code: str
    customer_id: int
    kind: CouponKind
    value: int | None
    currency: str
    min_spend_cents: int
    valid_from: datetime
    valid_until: datetime
    source: CouponSource
    source_ref: str
    issued_at: datetime
    id: int | None = None
    redeemed_at: datetime | None = None
    redeemed_order_id: str | None = None
    redeemed_amount_cents: int | None = None

    @property
    def last_day(self) -> date:
        """The last (UTC) day it can be used, as messages show it."""
        return (self.valid_until - timedelta(microseconds=1)).astimezone(UTC).date()

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_until

    def redeemed_by(self, order: OrderCoupon, at: datetime) -> Coupon:
        """This coupon, redeemed at `at` by `order` (its id and amount)."""
        return replace(
            self,
            redeemed_at=at,
            redeemed_order_id=order.order_id,
            redeemed_amount_cents=order.amount_cents,
        )

    def usable_at(self, moment: datetime) -> bool:
        """Valid now and not redeemed: what ``/coupons`` lists."""
        return self.redeemed_at is None and self.valid_at(moment)


class Redemption(StrEnum):
    """What an order's coupon code came to."""

    REDEEMED = "redeemed"
    ALREADY_THIS_ORDER = "already_this_order"
    """Redeemed by this order before (the order was imported again): nothing to do."""
    UNKNOWN = "unknown"
    """Not a code this bot issued (the shop's own codes, typos)."""
    OTHER_CUSTOMER = "other_customer"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    USED = "used"
    """Redeemed already, by another order."""
    CANCELLED = "cancelled"
    """The order was cancelled: the coupon stays available."""
    BELOW_MINIMUM = "below_minimum"
    WRONG_CURRENCY = "wrong_currency"


REFUSALS = tuple(
    r for r in Redemption if r not in (Redemption.REDEEMED, Redemption.ALREADY_THIS_ORDER)
)
"""The outcomes an import report counts as codes not redeemed."""


@dataclass(frozen=True, slots=True)
class OrderCoupon:
    """An order carrying a coupon code, as the order-upsert paths (the import, the events
    endpoint) hand it to the redemption."""

    order_id: str
    customer_id: int
    code: str
    created_at: datetime
    amount_cents: int
    currency: str
    status: OrderStatus


def new_code(length: int) -> str:
    """A fresh code of `length` symbols (a multiple of :data:`GROUP`), grouped with dashes."""
    if length <= 0 or length % GROUP:
        raise ValueError(f"a coupon code has a positive multiple of {GROUP} symbols")
    return group("".join(secrets.choice(ALPHABET) for _ in range(length)))


def group(symbols: str) -> str:
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def normalise_code(raw: str) -> str | None:
    """The code as stored (``K7QM-3XHP``) from what somebody typed (``k7qm 3xhp``), or None
    when it cannot be one of ours."""
    symbols = "".join(raw.split()).replace("-", "").upper()
    if not symbols or len(symbols) % GROUP or any(s not in ALPHABET for s in symbols):
        return None
    return group(symbols)


def issue(
    spec: CouponSpec,
    *,
    code: str,
    customer_id: int,
    currency: str,
    source: CouponSource,
    source_ref: str,
    now: datetime,
) -> Coupon:
    """A coupon per `spec`, valid from `now` through the end of the UTC day the spec's days
    later (so the day a message shows is a whole day)."""
    last = now.astimezone(UTC).date() + timedelta(days=spec.valid_days)
    return Coupon(
        code=code,
        customer_id=customer_id,
        kind=spec.kind,
        value=spec.value,
        currency=currency,
        min_spend_cents=spec.min_spend_cents,
        valid_from=now,
        valid_until=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
        source=source,
        source_ref=source_ref,
        issued_at=now,
    )


def judge(coupon: Coupon | None, order: OrderCoupon) -> Redemption:
    """Whether `order` redeems `coupon` (the coupon its code names; None: no such code)."""
    if coupon is None:
        return Redemption.UNKNOWN
    if coupon.customer_id != order.customer_id:
        return Redemption.OTHER_CUSTOMER
    if coupon.redeemed_order_id is not None:
        same = coupon.redeemed_order_id == order.order_id
        return Redemption.ALREADY_THIS_ORDER if same else Redemption.USED
    if order.status is OrderStatus.CANCELLED:
        return Redemption.CANCELLED
    if order.created_at < coupon.valid_from:
        return Redemption.NOT_YET_VALID
    if order.created_at >= coupon.valid_until:
        return Redemption.EXPIRED
    money_matters = coupon.kind is CouponKind.FIXED or coupon.min_spend_cents > 0
    if money_matters and order.currency != coupon.currency:
        return Redemption.WRONG_CURRENCY
    if order.amount_cents < coupon.min_spend_cents:
        return Redemption.BELOW_MINIMUM
    return Redemption.REDEEMED
