"""Acting on a staff task: a button of its card pressed (:mod:`bot.core.staff_tasks`).

:func:`act_on_task` checks, in one unit of work, that the task exists and is still open and
that the person may act on it (its assignee, or a supervisor, manager or admin), then records
the choice with who made it and when — one conditional update, so of two presses at once the
first wins and the second is told it was already decided.

"Send the suggested message" (an advisor check-in) sends the customer the rule's template
through the outbox, in the same unit of work, under ``engage:<rule>:<customer>:<period>:message``
— unique, so the customer gets it exactly once however often it is pressed — with the guards of
the rule's kind (:func:`bot.core.engagement.evaluate.suggested`): no consent, the weekly cap or
an unreachable customer refuse it (the task stays open, and the presser is told why, so they can
reach the customer another way or skip); quiet hours hold it until the window opens. The
outbox senders deliver it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.deps import Deps
from bot.core.engagement.evaluate import suggested
from bot.core.engagement.guards import SkipReason
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.ports import UnitOfWork
from bot.core.roles import StaffMember
from bot.core.services.engagement import context_of, word
from bot.core.staff_tasks import (
    CHOICES,
    StaffTask,
    TaskChoice,
    TaskState,
    may_act,
    state_after,
)

log = logging.getLogger(__name__)


class TaskStatus(StrEnum):
    DONE = "done"
    ALREADY = "already"
    """Decided before (by this person or another)."""
    NOT_YOURS = "not_yours"
    GONE = "gone"
    """No such task (erased with its customer), or a choice its kind does not offer."""
    NOT_SENT = "not_sent"
    """The suggested message may not go out now (see `refusal`); the task stays open."""


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    status: TaskStatus
    task: StaffTask | None = None
    refusal: str | None = None
    """Why the suggested message was not sent: a guard's reason, or ``no_message``."""
    held_until: datetime | None = None
    """When a suggested message held by the quiet hours goes out."""


async def _send_suggested(
    uow: UnitOfWork, deps: Deps, task: StaffTask, now: datetime
) -> str | datetime | None:
    """Writes the suggested message to the outbox; returns why it cannot be sent, or the
    moment it goes out when that is later than now, else None."""
    policy = deps.policies.engagement
    rule = policy.playbook.rule(task.rule_id or "")
    found = await uow.engagement.customer_facts(after_id=task.customer_id - 1, limit=1)
    if rule is None or not found or found[0].customer_id != task.customer_id:
        return "no_message"
    planned = suggested(
        policy.playbook, rule, found[0], task.period, now, policy, context_of(deps)
    )
    if isinstance(planned, SkipReason):
        return planned.value
    message = word(deps.renderer, planned, policy.currency)
    if message is None:
        return "no_message"
    row = await uow.outbox.enqueue(
        OutboxMessage(
            key=planned.key,
            lane=Lane.PROACTIVE,
            message=message,
            created_at=now,
            not_before=planned.not_before,
        )
    )
    if row is None:
        log.info("suggested message of task %s was written before", task.id)
    return planned.not_before if planned.held else None


async def act_on_task(
    deps: Deps, task_id: int, choice: TaskChoice, member: StaffMember
) -> TaskOutcome:
    """Records `member`'s `choice` on the task (see the module docstring)."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        task = await uow.tasks.get(task_id)
        if task is None or choice not in CHOICES[task.kind]:
            return TaskOutcome(TaskStatus.GONE)
        if not may_act(task, member):
            log.info("staff %s may not act on task %s", member.telegram_user_id, task_id)
            return TaskOutcome(TaskStatus.NOT_YOURS, task)
        if task.state is not TaskState.OPEN:
            return TaskOutcome(TaskStatus.ALREADY, task)
        held_until = None
        if choice is TaskChoice.SEND_MESSAGE:
            sent = await _send_suggested(uow, deps, task, now)
            if isinstance(sent, str):
                return TaskOutcome(TaskStatus.NOT_SENT, task, refusal=sent)
            held_until = sent
        state = state_after(choice)
        if not await uow.tasks.decide(task_id, state, choice, member.telegram_user_id, now):
            return TaskOutcome(TaskStatus.ALREADY, await uow.tasks.get(task_id))
        await uow.commit()
    task.state, task.choice, task.acted_by, task.acted_at = (
        state,
        choice,
        member.telegram_user_id,
        now,
    )
    return TaskOutcome(TaskStatus.DONE, task, held_until=held_until)
