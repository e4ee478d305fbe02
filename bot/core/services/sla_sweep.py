"""The SLA sweep: warn staff at 80 % of a target, escalate one level on a breach.

Run by the scheduler every ``sla_sweep_seconds`` (job ``bot.app.jobs.sla:sweep``) in the leader
process only, and idempotent besides: each warning or breach is claimed with a conditional
update (:meth:`TicketRepository.mark_once`) in the same transaction as its escalation, so two
sweepers, a restart or a retry never warn or escalate twice. A deadline that passed while the
bot was down is caught by the first sweep after start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.deps import Deps
from bot.core.messages import Reply
from bot.core.sla import SlaAction, SlaPolicy, due_actions
from bot.core.tickets import EventKind, Level, Ticket, TicketEvent, next_level

log = logging.getLogger(__name__)

PAGE = 200

_MARK = {
    SlaAction.WARN_FIRST_RESPONSE: "first_response_warned_at",
    SlaAction.WARN_RESOLUTION: "resolution_warned_at",
    SlaAction.BREACH_FIRST_RESPONSE: "first_response_breached_at",
    SlaAction.BREACH_RESOLUTION: "resolution_breached_at",
}
_TARGET = {
    SlaAction.WARN_FIRST_RESPONSE: "first_response",
    SlaAction.WARN_RESOLUTION: "resolution",
    SlaAction.BREACH_FIRST_RESPONSE: "first_response",
    SlaAction.BREACH_RESOLUTION: "resolution",
}


@dataclass(slots=True)
class SweepReport:
    checked: int = 0
    warnings: int = 0
    escalations: int = 0


def _notice(deps: Deps, ticket: Ticket, action: SlaAction, chat_id: int) -> Reply:
    target = _TARGET[action]
    due = ticket.first_response_due_at if target == "first_response" else ticket.resolution_due_at
    params = {
        "number": ticket.number,
        "target": target,
        "due": due.strftime("%Y-%m-%d %H:%M"),
        "percent": round(deps.policies.sla.warn_fraction * 100),
        "level": ticket.level.name.lower(),
        "severity": ticket.severity.value,
    }
    key = "staff.sla_warning" if action.name.startswith("WARN") else "staff.escalated"
    return Reply(key, params, chat_id=chat_id, locale=deps.policies.staff.locale)


async def _apply(deps: Deps, ticket: Ticket, action: SlaAction, now: datetime) -> list[Reply]:
    """Claims and records one action; returns the staff notices, or none if already done."""
    assert ticket.id is not None
    async with deps.uow() as uow:
        if not await uow.tickets.mark_once(ticket.id, _MARK[action], now):
            return []
        fresh = await uow.tickets.get(ticket.id)
        assert fresh is not None
        breach = action in (SlaAction.BREACH_FIRST_RESPONSE, SlaAction.BREACH_RESOLUTION)
        kind = EventKind.SLA_BREACH if breach else EventKind.SLA_WARNING
        await uow.tickets.add_event(
            TicketEvent(fresh.id or 0, now, "system", kind, note=_TARGET[action])
        )
        if breach:
            higher = next_level(fresh.level)
            if higher is not None:
                await uow.tickets.add_event(
                    TicketEvent(
                        fresh.id or 0,
                        now,
                        "system",
                        EventKind.ESCALATED,
                        data={
                            "from": fresh.level.name.lower(),
                            "to": higher.name.lower(),
                            "reason": _TARGET[action],
                        },
                    )
                )
                fresh.level = higher
            fresh.updated_at = now
            await uow.tickets.update(fresh)
        await uow.commit()
    staff = deps.policies.staff
    chats = staff.alerted_at(fresh.level) if breach else staff.alerted_at(Level.AGENT)
    return [_notice(deps, fresh, action, chat) for chat in chats]


async def sweep(
    deps: Deps, now: datetime | None = None, policy: SlaPolicy | None = None
) -> tuple[SweepReport, list[Reply]]:
    """Checks every open ticket once; returns what it did and the notices to deliver."""
    now = now or deps.clock.now()
    policy = policy or deps.policies.sla
    report, notices = SweepReport(), []
    after = 0
    while True:
        async with deps.uow() as uow:
            page: Sequence[Ticket] = await uow.tickets.open_tickets(after, PAGE)
        if not page:
            break
        for ticket in page:
            report.checked += 1
            for action in due_actions(ticket, now, policy):
                sent = await _apply(deps, ticket, action, now)
                if sent:
                    if action.name.startswith("WARN"):
                        report.warnings += 1
                    else:
                        report.escalations += 1
                notices += sent
        after = page[-1].id or after
    if report.warnings or report.escalations:
        log.info(
            "SLA sweep: %d open tickets, %d warnings, %d escalations",
            report.checked,
            report.warnings,
            report.escalations,
        )
    return report, notices
