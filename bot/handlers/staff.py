"""Staff actions on a ticket: the buttons on a ticket card, and ``/plan``.

These handlers serve staff routes only: the dispatcher has checked that the sender is on the
roster and that their role allows the route's action (and audited the attempt), in the staff
group and in a dedicated advisor's private chat alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.core.deps import Deps
from bot.core.dispatch import Result, StaffTurn
from bot.core.messages import CallbackAnswer, Reply
from bot.core.services.escalation import AtTopLevel
from bot.core.services.staff_actions import (
    CardOutcome,
    escalate_ticket,
    move_ticket,
    plan_for,
    take_over_chat,
)
from bot.core.services.tickets import (
    ESCALATE_PREFIX,
    STAFF_ACTIONS,
    STAFF_PREFIX,
    TAKE_OVER_PREFIX,
    staff_card,
)
from bot.core.tickets import NeedsRemediationPlan, TicketError, TicketState


def parse_action(data: str) -> tuple[int, TicketState] | None:
    """``"tk:42:resolved"`` → ``(42, RESOLVED)``."""
    parts = data.removeprefix(STAFF_PREFIX).split(":")
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in STAFF_ACTIONS:
        return None
    return int(parts[0]), STAFF_ACTIONS[parts[1]]


def _card(turn: StaffTurn, deps: Deps, done: CardOutcome) -> list[Result]:
    """The pressed card, brought up to date (it is edited in place)."""
    if done.customer is None or turn.msg.message_id is None:
        return []
    ticket, customer = done.outcome.ticket, done.customer
    card = staff_card(ticket, customer, deps.policies, done.tier, turn.msg.chat_id)
    return [replace(card, edit_message_id=turn.msg.message_id)]


async def on_ticket_action(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None
    parsed = parse_action(turn.msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    ticket_id, to = parsed
    try:
        done = await move_ticket(deps, ticket_id, to, actor=turn.actor)
    except NeedsRemediationPlan:
        return [CallbackAnswer(turn.msg.callback_id, "staff.refused_needs_plan")]
    except TicketError:
        return [CallbackAnswer(turn.msg.callback_id, "staff.refused_not_allowed")]
    ticket = done.outcome.ticket
    notice = CallbackAnswer(
        turn.msg.callback_id, "staff.done", {"number": ticket.number, "state": to.value}
    )
    return [notice, *_card(turn, deps, done), *done.outcome.replies, *done.outcome.jobs]


async def on_plan(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``/plan T-000042 <the remediation plan>`` in the staff group: records the written plan a
    major complaint needs before it can be resolved."""
    number, _, plan = turn.msg.args.partition(" ")
    plan = plan.strip()
    if not number or not plan:
        return [Reply("staff.plan_usage")]
    outcome = await plan_for(deps, number, plan, actor=turn.actor)
    if outcome is None:
        return [Reply("staff.unknown_ticket", {"number": number})]
    return [Reply("staff.plan_recorded", {"number": outcome.ticket.number})]


async def on_take_over(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """The agent who presses "Take over" owns the customer's chat: it runs through their
    private chat with the bot from now on (direct mode)."""
    assert turn.msg.callback_id is not None
    raw = (turn.msg.callback_data or "").removeprefix(TAKE_OVER_PREFIX)
    if not raw.isdigit():
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    try:
        outcome = await take_over_chat(deps, int(raw), turn.member)
    except TicketError:
        return [CallbackAnswer(turn.msg.callback_id, "staff.take_over_refused")]
    notice = CallbackAnswer(
        turn.msg.callback_id, "staff.taken_over", {"number": outcome.ticket.number}
    )
    return [notice, *outcome.replies]


async def on_escalate(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """The Escalate button on a ticket card: one level up the chain, announced to the staff
    group and the new level's chat; at the top (a manager has it) a short notice, no change."""
    assert turn.msg.callback_id is not None
    raw = (turn.msg.callback_data or "").removeprefix(ESCALATE_PREFIX)
    if not raw.isdigit():
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    by = turn.member.name.split()[0]
    try:
        done = await escalate_ticket(deps, int(raw), actor=turn.actor, by=by)
    except AtTopLevel:
        return [CallbackAnswer(turn.msg.callback_id, "staff.escalate_at_top")]
    except TicketError:
        return [CallbackAnswer(turn.msg.callback_id, "staff.refused_not_allowed")]
    ticket = done.outcome.ticket
    notice = CallbackAnswer(
        turn.msg.callback_id,
        "staff.escalated_done",
        {"number": ticket.number, "level": ticket.level.name.lower()},
    )
    return [notice, *_card(turn, deps, done), *done.outcome.replies]
