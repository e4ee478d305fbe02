"""Campaign use cases (SPEC §10, issue #11): create, inspect, preview, test-send, move
between states, deliver and report. The command line (``rapport campaign``) and the Telegram
wizard call them from here; each takes a :class:`CampaignTools` (built from the bot's
:class:`~bot.core.deps.Deps` by :meth:`CampaignTools.of`) and raises
:class:`~bot.core.campaigns.model.CampaignError` with a sentence naming the field or state.

| module | what |
|---|---|
| :mod:`.tools` | :class:`CampaignTools`, the lookups the others share |
| :mod:`.wording` | the message as a customer, a staff member or a preview gets it |
| :mod:`.lifecycle` | create, list, show, preview, test-send, schedule/pause/resume/cancel |
| :mod:`.delivery` | the scheduler's tick: start, freeze, decide, write to the outbox, finish |
| :mod:`.reporting` | the report: counts and uplift |
"""

from bot.core.services.campaigns.delivery import TickReport, tick
from bot.core.services.campaigns.lifecycle import (
    TEST_KEY,
    AudienceSize,
    Overview,
    PreviewMessage,
    audience_size,
    change,
    create,
    list_campaigns,
    next_run,
    overview,
    preview,
    test_send,
)
from bot.core.services.campaigns.reporting import report
from bot.core.services.campaigns.tools import CampaignTools
from bot.core.services.campaigns.wording import (
    OFFER_LINE_KEY,
    SAMPLE_NAME_KEY,
    message_for,
    word,
)

__all__ = [
    "OFFER_LINE_KEY",
    "SAMPLE_NAME_KEY",
    "TEST_KEY",
    "AudienceSize",
    "CampaignTools",
    "Overview",
    "PreviewMessage",
    "TickReport",
    "audience_size",
    "change",
    "create",
    "list_campaigns",
    "message_for",
    "next_run",
    "overview",
    "preview",
    "report",
    "test_send",
    "tick",
    "word",
]
