"""``bot.app.jobs.sla:sweep`` — every ``sla_sweep_seconds``: SLA warnings and escalations.

The sweep writes its staff notices to the outbox in the transaction that records each warning
or breach; the job then sends those rows at once (:func:`bot.core.outbox.send_now`). Whatever
that does not deliver — a crash in between, a 5xx — the outbox senders deliver later, once.
"""

from __future__ import annotations

import logging

from bot.core.dispatch import Dispatcher
from bot.core.outbox import send_now, worker_name
from bot.core.services.sla_sweep import sweep as sweep_tickets

log = logging.getLogger(__name__)

TARGET = "bot.app.jobs.sla:sweep"
JOB_ID = "sla-sweep"


async def sweep(dispatcher: Dispatcher) -> None:
    deps = dispatcher.deps
    report, notices = await sweep_tickets(deps)
    if notices and deps.policies.staff.group_chat_id is None:
        log.warning("SLA notices not sent: no staff chat configured (RAPPORT_STAFF_CHAT_ID)")
    if report.queued:
        await send_now(deps, dispatcher.delivery, report.queued, worker_name())
