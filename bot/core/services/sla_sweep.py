"""The SLA sweep: warn staff at 80 % of a target, escalate one level on a breach.

Run by the scheduler every ``sla_sweep_seconds`` (job ``bot.app.jobs.sla:sweep``) in the leader
process only, and idempotent besides: each warning or breach is claimed with a conditional
update (:meth:`TicketRepository.mark_once`) in the same transaction as its escalation, so two
sweepers, a restart or a retry never warn or escalate twice. A deadline that passed while the
bot was down is caught by the first sweep after start-up.

The staff notices are written to the outbox (:mod:`bot.core.outbox`) in that same transaction,
under the key ``sla:<ticket>:<action>:<chat>``: a crash after the commit loses none of them,
and the senders deliver each once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.deps import Deps
from bot.core.messages import Reply
from bot.core.outbox import Lane, enqueue
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
    queued: list[int] = field(default_factory=list)
    """Outbox rows written for the notices (their ids)."""


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


async def _apply(
    deps: Deps, ticket: Ticket, action: SlaAction, now: datetime
) -> tuple[list[Reply], list[int]]:
    """Claims and records one action and queues its staff notices; returns the notices and
    their outbox rows, or nothing if the action was done already."""
    assert ticket.id is not None
    async with deps.uow() as uow:
        if not await uow.tickets.mark_once(ticket.id, _MARK[action], now):
            return [], []
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
        staff = deps.policies.staff
        chats = staff.alerted_at(fresh.level) if breach else staff.alerted_at(Level.AGENT)
        notices = [_notice(deps, fresh, action, chat) for chat in chats]
        queued = []
        for chat, notice in zip(chats, notices, strict=True):
            key = f"sla:{ticket.id}:{action.name.lower()}:{chat}"
            row = await enqueue(
                uow, deps, notice, key=key, lane=Lane.SERVICE, locale=staff.locale, now=now
            )
            if row is not None:
                queued.append(row)
        await uow.commit()
    return notices, queued


async def sweep(
    deps: Deps, now: datetime | None = None, policy: SlaPolicy | None = None
) -> tuple[SweepReport, list[Reply]]:
    """Checks every open ticket once; returns what it did (with the outbox rows it queued)
    and the notices it queued."""
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
                sent, queued = await _apply(deps, ticket, action, now)
                report.queued += queued
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
