"""``bot.app.jobs.sla:sweep`` — every ``sla_sweep_seconds``: SLA warnings and escalations."""

from __future__ import annotations

import logging

from bot.core.dispatch import Dispatcher
from bot.core.services.sla_sweep import sweep as sweep_tickets

log = logging.getLogger(__name__)

TARGET = "bot.app.jobs.sla:sweep"
JOB_ID = "sla-sweep"


async def sweep(dispatcher: Dispatcher) -> None:
    deps = dispatcher.deps
    _report, notices = await sweep_tickets(deps)
    if notices and deps.policies.staff.group_chat_id is None:
        log.warning("SLA notices not sent: no staff chat configured (RAPPORT_STAFF_CHAT_ID)")
    for notice in notices:
        await dispatcher.delivery.deliver(
            [notice], deps.policies.staff.locale, notice.chat_id or 0
        )
