"""Staff roles and what each may do (SPEC §1), as a pure table.

Every staff route names the :class:`Action` it performs; the dispatcher lets it run only for a
person on the roster whose role allows that action, and audits the attempt either way. Anyone
not on the roster gets nothing done, whatever they send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    MARKETING = "marketing"
    ADMIN = "admin"


class Action(StrEnum):
    """Staff actions, named for what they do to a ticket or a chat."""

    MOVE_TICKET = "move_ticket"  # investigating, solution proposed, resolved, closed
    TAKE_OVER = "take_over"
    REPLY = "reply"
    NOTE = "note"
    RELEASE = "release"
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    REASSIGN = "reassign"
    REMEDIATION_PLAN = "remediation_plan"
    REPORTS = "reports"
    CAMPAIGNS = "campaigns"
    WORK_TASK = "work_task"  # a staff task's card; bot.core.staff_tasks.may_act says whose
    NEWS = "news"  # add product news for the playbook (`rapport news add --by`)


_AGENT = frozenset(
    {
        Action.MOVE_TICKET,
        Action.TAKE_OVER,
        Action.REPLY,
        Action.NOTE,
        Action.RELEASE,
        Action.TRANSFER,
        Action.ESCALATE,
        Action.RESOLVE,
        Action.WORK_TASK,
    }
)
_SUPERVISOR = _AGENT | {Action.REOPEN, Action.REASSIGN, Action.REMEDIATION_PLAN}

ALLOWED: dict[Role, frozenset[Action]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.MANAGER: _SUPERVISOR | {Action.REPORTS},
    Role.MARKETING: frozenset({Action.CAMPAIGNS, Action.REPORTS, Action.NEWS}),
    # Admins work from the command line (roster, configuration, export and erasure), may
    # settle any staff task (an advisor's check-in, a call-back) from its card, add news, and
    # run campaigns as marketing does (the /campaign wizard, /campaigns).
    Role.ADMIN: frozenset({Action.WORK_TASK, Action.CAMPAIGNS, Action.NEWS}),
}
"""Who may do what: an agent works tickets and their own staff tasks; a supervisor also
reopens, reassigns, writes remediation plans and settles anyone's task; a manager also reads
reports; marketing runs campaigns and their reports and, with admins, changes the news the
playbook carries (admins run campaigns too). (The playbook itself is a file of the
deployment, ``RAPPORT_PLAYBOOK_FILE``: no command or chat action changes it.)"""


def can(role: Role | None, action: Action) -> bool:
    """Whether `role` (None: not on the roster) may perform `action`."""
    return role is not None and action in ALLOWED[role]


@dataclass(slots=True)
class StaffMember:
    """A person on the staff roster, known by Telegram user id."""

    telegram_user_id: int
    name: str
    role: Role
    added_at: datetime
    active: bool = True
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One staff action, allowed or refused (SPEC §12: every staff action is audited)."""

    at: datetime
    telegram_user_id: int
    action: str
    allowed: bool
    chat_id: int | None = None
    detail: str | None = None
