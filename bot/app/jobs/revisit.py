"""The after-sales revisit (SPEC §4, §8).

``bot.app.jobs.revisit:send`` — scheduled at each resolution (job ``revisit-ticket-<id>``, replaced
by a later resolution) for ``revisit_after_days`` later: asks the customer how things are.
``bot.app.jobs.revisit:sweep`` — every ``revisit_sweep_seconds``: sends any revisit that fell due
without its job (a crash between commit and scheduling, a path that scheduled nothing).

Both claim the revisit with a conditional update and write its question to the outbox (key
``revisit:<ticket>``) in the same transaction, so together, and run twice, they send it once;
a ticket reopened since, or a customer who blocked the bot, is skipped. The job sends its row
at once (:func:`bot.core.outbox.send_now`); what that does not deliver, the outbox senders do.
"""

from __future__ import annotations

import logging

from bot.core.dispatch import Dispatcher
from bot.core.outbox import send_now, worker_name
from bot.core.ratings import REVISIT_TARGET
from bot.core.services.ratings import due_revisits, run_revisit

log = logging.getLogger(__name__)

TARGET = REVISIT_TARGET
SWEEP_TARGET = "bot.app.jobs.revisit:sweep"
SWEEP_JOB_ID = "revisit-sweep"


async def send(dispatcher: Dispatcher, ticket_id: int | str) -> None:
    queued = await run_revisit(dispatcher.deps, int(ticket_id))
    if queued:
        await send_now(dispatcher.deps, dispatcher.delivery, queued, worker_name())


async def sweep(dispatcher: Dispatcher) -> None:
    due = await due_revisits(dispatcher.deps)
    if due:
        log.info("revisit sweep: %d revisit(s) due without their job", len(due))
    for ticket_id in due:
        await send(dispatcher, ticket_id)
