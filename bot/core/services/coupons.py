"""The customer's own coupons (``/coupons``): valid now and not used, newest first."""

from __future__ import annotations

from bot.core.coupons import Coupon
from bot.core.deps import Deps
from bot.core.models import Customer


async def usable_coupons(deps: Deps, customer: Customer) -> list[Coupon]:
    """The coupons of `customer` — never anybody else's — that an order could use now."""
    assert customer.id is not None
    now = deps.clock.now()
    async with deps.uow() as uow:
        mine = await uow.coupons.for_customer(customer.id)
    return [c for c in mine if c.customer_id == customer.id and c.usable_at(now)]
