"""Staff actions from the staff group: the buttons on a ticket card.

Only updates from the configured staff group reach these handlers (the dispatcher checks);
the agent desk will add per-person roles on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.core.deps import Deps
from bot.core.dispatch import Result, StaffTurn
from bot.core.messages import CallbackAnswer, Reply
from bot.core.services.desk import take_over
from bot.core.services.tickets import (
    STAFF_ACTIONS,
    STAFF_PREFIX,
    TAKE_OVER_PREFIX,
    record_plan,
    staff_card,
    transition,
)
from bot.core.tickets import TicketError, TicketState


def parse_action(data: str) -> tuple[int, TicketState] | None:
    """``"tk:42:resolved"`` → ``(42, RESOLVED)``."""
    parts = data.removeprefix(STAFF_PREFIX).split(":")
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in STAFF_ACTIONS:
        return None
    return int(parts[0]), STAFF_ACTIONS[parts[1]]


async def on_ticket_action(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None
    parsed = parse_action(turn.msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    ticket_id, to = parsed
    async with deps.uow() as uow:
        try:
            outcome = await transition(
                uow,
                ticket_id,
                to,
                actor=turn.actor,
                now=deps.clock.now(),
                settings=deps.settings,
                locales=deps.renderer.locales,
            )
        except TicketError as exc:
            key = (
                "staff.refused_needs_plan"
                if "remediation plan" in str(exc)
                else "staff.refused_not_allowed"
            )
            return [CallbackAnswer(turn.msg.callback_id, key)]
        customer = await uow.customers.get(outcome.ticket.customer_id)
        await uow.commit()
    card = []
    if customer is not None and turn.msg.message_id is not None:
        updated = staff_card(outcome.ticket, customer, deps.settings, None, turn.msg.chat_id)
        card = [replace(updated, edit_message_id=turn.msg.message_id)]
    notice = CallbackAnswer(
        turn.msg.callback_id, "staff.done", {"number": outcome.ticket.number, "state": to.value}
    )
    return [notice, *card, *outcome.replies, *outcome.jobs]


async def on_plan(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``/plan T-000042 <the remediation plan>`` in the staff group: records the written plan a
    major complaint needs before it can be resolved."""
    number, _, plan = turn.msg.args.partition(" ")
    plan = plan.strip()
    if not number or not plan:
        return [Reply("staff.plan_usage")]
    async with deps.uow() as uow:
        ticket = await uow.tickets.get_by_number(number)
        if ticket is None or ticket.id is None:
            return [Reply("staff.unknown_ticket", {"number": number})]
        outcome = await record_plan(uow, ticket, plan, actor=turn.actor, now=deps.clock.now())
        await uow.commit()
    return [Reply("staff.plan_recorded", {"number": outcome.ticket.number})]


async def on_take_over(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """The agent who presses "Take over" owns the customer's chat: it runs through their
    private chat with the bot from now on (direct mode)."""
    assert turn.msg.callback_id is not None
    raw = (turn.msg.callback_data or "").removeprefix(TAKE_OVER_PREFIX)
    if not raw.isdigit():
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    async with deps.uow() as uow:
        try:
            outcome = await take_over(
                uow,
                int(raw),
                turn.member,
                now=deps.clock.now(),
                settings=deps.settings,
                locales=deps.renderer.locales,
            )
        except TicketError:
            return [CallbackAnswer(turn.msg.callback_id, "staff.take_over_refused")]
        await uow.commit()
    notice = CallbackAnswer(
        turn.msg.callback_id, "staff.taken_over", {"number": outcome.ticket.number}
    )
    return [notice, *outcome.replies]
