"""Coupons over SQL: the repository (:class:`bot.core.ports.CouponRepository`) and
:func:`redeem_order_coupons`, the redemption every order-upsert path calls in its own
transaction (``rapport import orders`` does; so can the order-events endpoint).

Redeeming is a conditional update (``redeemed_at IS NULL``): of two transactions redeeming one
coupon for two orders, one wins; the other's order is counted ``used``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from bot.core.coupons import (
    Coupon,
    CouponSource,
    OrderCoupon,
    Redemption,
    judge,
    normalise_code,
)
from bot.core.engagement.playbook import CouponKind
from storage.bulk import chunks
from storage.tables.coupons import CouponRow

COUPONS = CouponRow.__table__  # type: ignore[attr-defined]


def coupon_from(row: Any) -> Coupon:
    """A :class:`Coupon` from a ``coupon`` row (an ORM row or a Core result row)."""
    return Coupon(
        id=row.id,
        code=row.code,
        customer_id=row.customer_id,
        kind=CouponKind(row.kind),
        value=row.value,
        currency=row.currency,
        min_spend_cents=row.min_spend_cents,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        source=CouponSource(row.source),
        source_ref=row.source_ref,
        issued_at=row.issued_at,
        redeemed_at=row.redeemed_at,
        redeemed_order_id=row.redeemed_order_id,
        redeemed_amount_cents=row.redeemed_amount_cents,
    )


class SqlCouponRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, coupon: Coupon) -> Coupon:
        row = CouponRow(
            code=coupon.code,
            customer_id=coupon.customer_id,
            kind=coupon.kind.value,
            value=coupon.value,
            currency=coupon.currency,
            min_spend_cents=coupon.min_spend_cents,
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            source=coupon.source.value,
            source_ref=coupon.source_ref,
            issued_at=coupon.issued_at,
        )
        self._session.add(row)
        await self._session.flush()
        return coupon_from(row)

    async def get_by_code(self, code: str) -> Coupon | None:
        stmt = (
            select(CouponRow)
            .where(col(CouponRow.code) == code)
            .execution_options(populate_existing=True)  # a redemption may have changed it
        )
        row = (await self._session.scalars(stmt)).first()
        return None if row is None else coupon_from(row)

    async def for_customer(self, customer_id: int) -> list[Coupon]:
        stmt = (
            select(CouponRow)
            .where(col(CouponRow.customer_id) == customer_id)
            .order_by(col(CouponRow.issued_at).desc(), col(CouponRow.id).desc())
            .execution_options(populate_existing=True)
        )
        return [coupon_from(r) for r in (await self._session.scalars(stmt)).all()]

    async def redeem(self, orders: Sequence[OrderCoupon], at: datetime) -> Counter[Redemption]:
        return await redeem_order_coupons(await self._session.connection(), orders, at)


async def redeem_order_coupons(
    conn: AsyncConnection, orders: Sequence[OrderCoupon], at: datetime
) -> Counter[Redemption]:
    """Redeems the coupons `orders` carry, by the rule of :func:`bot.core.coupons.judge`, in
    the caller's transaction; returns how many orders came to each outcome. Codes are matched
    as customers type them (:func:`~bot.core.coupons.normalise_code`); a code that cannot be
    one of ours costs no query. Within one call a coupon is redeemed once: a second order with
    the same code is counted ``used``."""
    outcomes: Counter[Redemption] = Counter()
    wanted = {o.order_id: normalise_code(o.code) for o in orders}
    codes = sorted({c for c in wanted.values() if c is not None})
    found: dict[str, Coupon] = {}
    for chunk in chunks(codes):
        for row in (await conn.execute(select(COUPONS).where(COUPONS.c.code.in_(chunk)))).all():
            found[row.code] = coupon_from(row)
    for order in orders:
        code = wanted[order.order_id]
        coupon = found.get(code) if code is not None else None
        verdict = judge(coupon, order)
        if verdict is Redemption.REDEEMED:
            assert coupon is not None
            done = await conn.execute(
                update(COUPONS)
                .where(COUPONS.c.id == coupon.id, COUPONS.c.redeemed_at.is_(None))
                .values(
                    redeemed_at=at,
                    redeemed_order_id=order.order_id,
                    redeemed_amount_cents=order.amount_cents,
                )
            )
            if done.rowcount != 1:
                verdict = Redemption.USED
            else:
                found[coupon.code] = coupon.redeemed_by(order, at)
        outcomes[verdict] += 1
    return outcomes
