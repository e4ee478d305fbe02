"""Loyalty use cases (``/points``): the customer's standing, and turning points into a coupon.

The conversion reads the standing and writes the coupon and its ledger entry in one unit of
work, so the points spent and the coupon they bought are never apart. The coupon's reference
is ``loyalty:<customer>:<n>`` (the n-th conversion), unique with its source: two presses
racing in two processes cannot both spend the same points — the second one's transaction
fails on that key and its retry sees the new balance.
"""

from __future__ import annotations

from bot.core.coupons import Coupon, CouponSource, issue
from bot.core.deps import Deps
from bot.core.engagement.playbook import CouponKind, CouponSpec
from bot.core.loyalty import LoyaltyRedemption, Standing, can_redeem, standing
from bot.core.models import Customer
from bot.core.ports import UnitOfWork
from bot.core.services.coupons import free_code


async def _standing(deps: Deps, uow: UnitOfWork, customer_id: int) -> Standing:
    orders = await uow.loyalty.orders(customer_id)
    ledger = await uow.loyalty.redemptions(customer_id)
    return standing(orders, ledger, deps.clock.now(), deps.policies.loyalty)


async def points_of(deps: Deps, customer: Customer) -> Standing:
    """The customer's own points and level now."""
    assert customer.id is not None
    async with deps.uow() as uow:
        return await _standing(deps, uow, customer.id)


async def convert_points(
    deps: Deps, customer: Customer, seen: int
) -> tuple[Coupon | None, Standing]:
    """Turns ``redeem_points`` of the customer's points into a fixed-amount coupon, if the
    ledger still holds the `seen` conversions the button was shown with (a second press of
    the same button converts nothing); the coupon (None when nothing was converted: already
    done, or the balance is short) and the standing after."""
    assert customer.id is not None
    policy = deps.policies.loyalty
    now = deps.clock.now()
    async with deps.uow() as uow:
        before = await _standing(deps, uow, customer.id)
        if before.conversions != seen or not can_redeem(before, policy):
            return None, before
        done = before.conversions
        spec = CouponSpec(CouponKind.FIXED, policy.coupon_cents, 0, policy.coupon_valid_days)
        coupon = await uow.coupons.add(
            issue(
                spec,
                code=await free_code(uow, deps.policies.engagement.coupon_code_length),
                customer_id=customer.id,
                currency=deps.policies.engagement.currency,
                source=CouponSource.LOYALTY,
                source_ref=f"loyalty:{customer.id}:{done + 1}",
                now=now,
            )
        )
        await uow.loyalty.add_redemption(
            LoyaltyRedemption(customer.id, policy.redeem_points, coupon.code, now)
        )
        after = await _standing(deps, uow, customer.id)
        await uow.commit()
    return coupon, after
