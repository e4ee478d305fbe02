"""``/coupons``: the customer's valid coupons, each with its value, code and last day."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Reply
from bot.core.services.coupons import usable_coupons
from bot.core.services.engagement import word_offer


async def on_coupons(turn: Turn, deps: Deps) -> Sequence[Result]:
    coupons = await usable_coupons(deps, turn.customer)
    if not coupons:
        return [Reply("coupons.none", {"name": turn.name})]
    offers = [word_offer(deps.renderer, c, turn.locale) for c in coupons]
    return [Reply("coupons.list", {"name": turn.name, "offers": offers})]
