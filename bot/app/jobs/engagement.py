"""``bot.app.jobs.engagement:run`` — every ``engagement_run_seconds``: the playbook (SPEC §8).

Evaluates the deployment's playbook (:func:`bot.core.services.engagement.run_playbook`), which
writes each due message to the outbox's proactive lane under the key
``engage:<rule>:<customer>:<period>`` in the unit of work that read the customer's facts: run
twice, or by two processes, it enqueues once. The job then sends the rows that are due now
(:func:`bot.core.outbox.send_now`); held ones (quiet hours) and whatever that does not deliver
are left to the outbox senders.

With the playbook, the job asks the customers whose first order was recorded lately for what
their profile lacks (:func:`bot.core.services.profile.ask_after_first_orders`): a natural
moment, whether the order came by import or was pushed to the events endpoint.
"""

from __future__ import annotations

import logging

from bot.core.dispatch import Dispatcher
from bot.core.outbox import send_now, worker_name
from bot.core.services.engagement import run_playbook
from bot.core.services.profile import ask_after_first_orders

log = logging.getLogger(__name__)

TARGET = "bot.app.jobs.engagement:run"
JOB_ID = "engagement-playbook"


async def run(dispatcher: Dispatcher) -> None:
    deps = dispatcher.deps
    report = await run_playbook(deps)
    queued = [*report.queued, *await ask_after_first_orders(deps)]
    if queued:
        await send_now(deps, dispatcher.delivery, queued, worker_name())
