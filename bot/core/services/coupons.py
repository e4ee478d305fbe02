"""The customer's own coupons (``/coupons``): valid now and not used, newest first; and a
fresh code for a coupon about to be issued."""

from __future__ import annotations

from bot.core.coupons import Coupon, new_code
from bot.core.deps import Deps
from bot.core.models import Customer
from bot.core.ports import UnitOfWork


async def usable_coupons(deps: Deps, customer: Customer) -> list[Coupon]:
    """The coupons of `customer` — never anybody else's — that an order could use now."""
    assert customer.id is not None
    now = deps.clock.now()
    async with deps.uow() as uow:
        mine = await uow.coupons.for_customer(customer.id)
    return [c for c in mine if c.customer_id == customer.id and c.usable_at(now)]


async def free_code(uow: UnitOfWork, length: int) -> str:
    """A new code that no stored coupon has (a clash is 2^-40 per stored coupon at 8
    symbols; the unique index would refuse one anyway, failing the whole transaction)."""
    code = new_code(length)
    while await uow.coupons.get_by_code(code) is not None:
        code = new_code(length)
    return code
