"""``bot.app.jobs.campaigns:tick`` — every ``campaign_tick_seconds``: marketing campaigns.

Starts the campaigns whose time has come, freezes their audiences and writes their next
messages to the outbox's proactive lane through the engagement guards
(:func:`bot.core.services.campaigns.tick`). Every step commits its own page or batch, so a
restart carries on where it stopped and nothing is written twice. The outbox senders pace the
messages within Telegram's limits, service messages first.
"""

from __future__ import annotations

import logging

from bot.core.dispatch import Dispatcher
from bot.core.services.campaigns import CampaignTools
from bot.core.services.campaigns import tick as campaign_tick

log = logging.getLogger(__name__)

TARGET = "bot.app.jobs.campaigns:tick"
JOB_ID = "campaigns"


async def tick(dispatcher: Dispatcher) -> None:
    report = await campaign_tick(CampaignTools.of(dispatcher.deps))
    if report.started or report.decided or report.finished:
        log.info(
            "campaigns: started %s, decided %s, finished %s",
            report.started,
            dict(report.decided),
            report.finished,
        )
