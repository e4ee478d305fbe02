"""``/points``: the customer's balance, level and what the next level needs, with a button
that turns points into a coupon when the balance allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.loyalty import Standing, can_redeem
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.services.engagement import money, word_offer
from bot.core.services.loyalty import convert_points, points_of

PREFIX = "points:redeem:"
"""The redeem button's data: the prefix and the number of conversions it was shown at."""


def _level(deps: Deps, name: str, locale: str) -> str:
    """A level's name in the customer's language (its template), or as configured."""
    key = f"loyalty.level.{name}"
    return deps.renderer.render(key, locale) if deps.renderer.has(key, locale) else name


def _standing_reply(turn: Turn, deps: Deps, current: Standing, key: str, **extra: Any) -> Reply:
    policy = deps.policies.loyalty
    next_level = current.next_level
    params = {
        "name": turn.name,
        "balance": current.balance,
        "member_level": _level(deps, current.level.name, turn.locale),
        "next_level": _level(deps, next_level.name, turn.locale) if next_level else None,
        "to_next": current.to_next,
        "window_days": policy.window_days,
        "cost": policy.redeem_points,
        **extra,
    }
    buttons: tuple[tuple[Button, ...], ...] = ()
    if can_redeem(current, policy):
        value = money(policy.coupon_cents, deps.policies.engagement.currency)
        label = {"points": policy.redeem_points, "value": value}
        data = f"{PREFIX}{current.conversions}"
        buttons = ((Button("loyalty.redeem_button", data, label),),)
    return Reply(key, params, buttons=buttons)


async def on_points(turn: Turn, deps: Deps) -> Sequence[Result]:
    return [_standing_reply(turn, deps, await points_of(deps, turn.customer), "loyalty.points")]


async def on_redeem_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None and turn.msg.callback_data is not None
    seen = turn.msg.callback_data.removeprefix(PREFIX)
    if not seen.isdigit():
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    coupon, after = await convert_points(deps, turn.customer, int(seen))
    if coupon is None and after.conversions != int(seen):  # pressed again: done already
        return [CallbackAnswer(turn.msg.callback_id, "loyalty.already_converted")]
    if coupon is None:
        short = _standing_reply(turn, deps, after, "loyalty.not_enough")
        return [CallbackAnswer(turn.msg.callback_id), short]
    offer = word_offer(deps.renderer, coupon, turn.locale)
    return [
        CallbackAnswer(turn.msg.callback_id),
        _standing_reply(turn, deps, after, "loyalty.converted", offer=offer),
    ]
