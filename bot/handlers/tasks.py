"""Staff tasks' card buttons (:mod:`bot.core.staff_tasks`): in an advisor's private chat, the
staff group or the supervisors' chat.

The dispatcher has checked that the presser is on the roster with a role that may work tasks
(and audited it); :func:`~bot.core.services.staff_tasks.act_on_task` checks it is *their* task
(or that they are senior) and records the choice. The card is then edited to say what was
chosen, by whom and when, and loses its buttons.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, StaffTurn
from bot.core.messages import CallbackAnswer, Reply
from bot.core.services.staff_tasks import TaskStatus, act_on_task
from bot.core.staff_tasks import parse_button


async def on_task_button(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``task:<id>:<choice>`` under a task's card."""
    msg = turn.msg
    assert msg.callback_id is not None
    parsed = parse_button(msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(msg.callback_id, "fallback.expired_button")]
    task_id, choice = parsed
    outcome = await act_on_task(deps, task_id, choice, turn.member)
    task = outcome.task
    if outcome.status is TaskStatus.GONE or task is None:
        return [CallbackAnswer(msg.callback_id, "fallback.expired_button")]
    if outcome.status is TaskStatus.NOT_YOURS:  # a colleague's, or one for supervisors
        key = "task.not_yours" if task.assignee is not None else "task.for_supervisors"
        return [CallbackAnswer(msg.callback_id, key, {"name": turn.member.name})]
    if outcome.status is TaskStatus.ALREADY:
        choice_made = task.choice.value if task.choice else ""
        return [CallbackAnswer(msg.callback_id, "task.already", {"choice": choice_made})]
    if outcome.status is TaskStatus.NOT_SENT:
        return [
            CallbackAnswer(msg.callback_id),
            Reply("task.not_sent", {"refusal": outcome.refusal}),
        ]
    decided = Reply(
        "task.decided",
        {
            "kind": task.kind.value,
            "choice": choice.value,
            "by": turn.member.name,
            "at": (task.acted_at or deps.clock.now()).strftime("%Y-%m-%d %H:%M UTC"),
            "held_until": (
                outcome.held_until.strftime("%Y-%m-%d %H:%M UTC") if outcome.held_until else None
            ),
        },
        edit_message_id=msg.message_id,
    )
    return [CallbackAnswer(msg.callback_id), decided]
