"""Staff tasks (SPEC §8, issue #10): work the playbook hands to a person instead of a message.

* **advisor_checkin** — each month a high-tier customer's dedicated advisor gets a card in their
  private chat with the bot: who, tier, last orders, open tickets, last rating, and three
  buttons: "Send the suggested message" (the check-in template goes to the customer through
  the outbox, under the marketing guards), "I contacted them" and "Skip". A high-tier customer
  without an advisor: the card goes to the supervisors' chat (:func:`task_chat`).
* **callback** — the win-back "unhappy with service" variant asks a senior person to call the
  customer back: a card in the supervisors' chat, "I called them" / "Could not reach".
* **nps_followup** — a detractor's survey answer (0–6): a card in the supervisors' chat,
  "I contacted them" / "Skip".

A task is unique per (kind, customer, period) — the idempotency key — so a re-run of the
playbook, a restart or a second process never opens it twice. Whoever presses first decides:
the task leaves ``open`` for ``done`` or ``skipped`` with the choice, who made it and when.

Only the task's assignee may act on it, or a supervisor, manager or admin (:func:`may_act`);
a task addressed to a chat (no assignee) is for supervisors and above only.

Button payloads are ``task:<id>:<choice>`` (well under Telegram's 64 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.roles import Role, StaffMember

if TYPE_CHECKING:  # policies import the playbook, which imports this module
    from bot.core.policies import StaffChannels

PREFIX = "task:"


class TaskKind(StrEnum):
    ADVISOR_CHECKIN = "advisor_checkin"
    CALLBACK = "callback"
    NPS_FOLLOWUP = "nps_followup"


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class TaskChoice(StrEnum):
    SEND_MESSAGE = "send"
    """Send the customer the suggested message (the check-in template)."""
    CONTACTED = "contacted"
    CALLED = "called"
    UNREACHED = "unreached"
    SKIP = "skip"


CHOICES: dict[TaskKind, tuple[TaskChoice, ...]] = {
    TaskKind.ADVISOR_CHECKIN: (TaskChoice.SEND_MESSAGE, TaskChoice.CONTACTED, TaskChoice.SKIP),
    TaskKind.CALLBACK: (TaskChoice.CALLED, TaskChoice.UNREACHED),
    TaskKind.NPS_FOLLOWUP: (TaskChoice.CONTACTED, TaskChoice.SKIP),
}
"""The buttons of each kind's card, in order (one row)."""

SENIOR_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
"""Who may act on any task, and the only roles that may act on a task addressed to a chat."""


@dataclass(slots=True)
class StaffTask:
    """One task. `assignee` is the staff member's Telegram user id (a dedicated advisor), or
    None for a task addressed to `chat_id` (the supervisors' chat). `period` completes the
    idempotency key: the playbook's period (``2026-12``), or the survey's send."""

    kind: TaskKind
    customer_id: int
    period: str
    chat_id: int
    opened_at: datetime
    reason: str = ""
    """Why it was opened, for the card and ``rapport tasks list`` (no personal data)."""
    assignee: int | None = None
    rule_id: str | None = None
    """The playbook rule that opened it (whose template is the suggested message)."""
    state: TaskState = TaskState.OPEN
    choice: TaskChoice | None = None
    acted_by: int | None = None
    acted_at: datetime | None = None
    id: int | None = None


def task_chat(staff: StaffChannels) -> int | None:
    """Where a task without an assignee goes: the supervisors' chat, or the staff group when
    no supervisors' chat is configured; None when neither is."""
    if staff.supervisor_chat_id is not None:
        return staff.supervisor_chat_id
    return staff.group_chat_id


def may_act(task: StaffTask, member: StaffMember) -> bool:
    """Whether `member` may press a button of `task`'s card: its assignee, or a senior role."""
    if member.role in SENIOR_ROLES:
        return True
    return task.assignee is not None and task.assignee == member.telegram_user_id


def state_after(choice: TaskChoice) -> TaskState:
    return TaskState.SKIPPED if choice is TaskChoice.SKIP else TaskState.DONE


def button_data(task_id: int, choice: TaskChoice) -> str:
    return f"{PREFIX}{task_id}:{choice.value}"


def parse_button(data: str) -> tuple[int, TaskChoice] | None:
    """``"task:42:send"`` → ``(42, SEND_MESSAGE)``; anything else → None."""
    parts = data.removeprefix(PREFIX).split(":") if data.startswith(PREFIX) else []
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    try:
        return int(parts[0]), TaskChoice(parts[1])
    except ValueError:
        return None
