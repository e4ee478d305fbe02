"""Loyalty over SQL (:class:`bot.core.ports.LoyaltyRepository`): one customer's orders as
loyalty reads them, and the ledger of points turned into coupons."""

from __future__ import annotations

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.loyalty import LoyaltyOrder, LoyaltyRedemption
from bot.core.records import OrderStatus
from storage.tables.customers import CustomerOrderRow
from storage.tables.loyalty import LoyaltyRedemptionRow


class SqlLoyaltyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def orders(self, customer_id: int) -> list[LoyaltyOrder]:
        stmt = (
            sa_select(
                col(CustomerOrderRow.order_id),
                col(CustomerOrderRow.amount_cents),
                col(CustomerOrderRow.status),
                col(CustomerOrderRow.paid_at),
                col(CustomerOrderRow.created_at),
            )
            .where(col(CustomerOrderRow.customer_id) == customer_id)
            .order_by(col(CustomerOrderRow.created_at), col(CustomerOrderRow.id))
        )
        return [
            # an order imported as paid without a payment time was paid when it was placed
            LoyaltyOrder(order_id, amount, OrderStatus(status), paid_at or created_at)
            for order_id, amount, status, paid_at, created_at in (
                await self._session.execute(stmt)
            ).all()
        ]

    async def redemptions(self, customer_id: int) -> list[LoyaltyRedemption]:
        stmt = (
            select(LoyaltyRedemptionRow)
            .where(col(LoyaltyRedemptionRow.customer_id) == customer_id)
            .order_by(col(LoyaltyRedemptionRow.id))
        )
        return [
            LoyaltyRedemption(r.customer_id, r.points, r.coupon_code, r.at)
            for r in (await self._session.scalars(stmt)).all()
        ]

    async def add_redemption(self, redemption: LoyaltyRedemption) -> None:
        self._session.add(
            LoyaltyRedemptionRow(
                customer_id=redemption.customer_id,
                points=redemption.points,
                coupon_code=redemption.coupon_code,
                at=redemption.at,
            )
        )
        await self._session.flush()
