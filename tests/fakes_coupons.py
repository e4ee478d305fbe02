"""In-memory coupons, loyalty ledger and news for :mod:`tests.fakes`, held to the SQL
repositories by the contract tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.coupons import Coupon, OrderCoupon, Redemption, judge, normalise_code
from bot.core.engagement.news import NewsItem
from bot.core.loyalty import LoyaltyOrder, LoyaltyRedemption

if TYPE_CHECKING:
    from tests.fakes import MemoryStore


class MemoryCoupons:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def add(self, coupon: Coupon) -> Coupon:
        taken = {(c.source, c.source_ref) for c in self._work.coupons.values()}
        codes = {c.code for c in self._work.coupons.values()}
        if coupon.code in codes or (coupon.source, coupon.source_ref) in taken:
            raise ValueError("a coupon with this code or source is stored already")
        stored = replace(coupon, id=next(self._work.ids))
        assert stored.id is not None
        self._work.coupons[stored.id] = stored
        return stored

    async def get_by_code(self, code: str) -> Coupon | None:
        return next((c for c in self._work.coupons.values() if c.code == code), None)

    async def for_customer(self, customer_id: int) -> list[Coupon]:
        mine = [c for c in self._work.coupons.values() if c.customer_id == customer_id]
        return sorted(mine, key=lambda c: (c.issued_at, c.id or 0), reverse=True)

    async def redeem(self, orders: Sequence[OrderCoupon], at: datetime) -> Counter[Redemption]:
        outcomes: Counter[Redemption] = Counter()
        for order in orders:
            code = normalise_code(order.code)
            coupon = await self.get_by_code(code) if code is not None else None
            verdict = judge(coupon, order)
            if verdict is Redemption.REDEEMED:
                assert coupon is not None and coupon.id is not None
                self._work.coupons[coupon.id] = coupon.redeemed_by(order, at)
            outcomes[verdict] += 1
        return outcomes


class MemoryLoyalty:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def orders(self, customer_id: int) -> list[LoyaltyOrder]:
        return list(self._work.loyalty_orders.get(customer_id, ()))

    async def redemptions(self, customer_id: int) -> list[LoyaltyRedemption]:
        ledger = self._work.loyalty_ledger
        return [ledger[n] for n in sorted(ledger) if ledger[n].customer_id == customer_id]

    async def add_redemption(self, redemption: LoyaltyRedemption) -> None:
        self._work.loyalty_ledger[next(self._work.ids)] = redemption


class MemoryNews:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def add(self, item: NewsItem) -> NewsItem:
        stored = replace(item, id=next(self._work.ids))
        self._work.news[stored.id] = stored
        return stored

    async def since(self, moment: datetime) -> list[NewsItem]:
        found = [i for i in self._work.news.values() if i.created_at > moment]
        return sorted(found, key=lambda i: (i.created_at, i.id))
