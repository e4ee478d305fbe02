"""``/campaigns``: the newest campaigns with their state and progress, and the buttons that
pause, resume, cancel or report on one (issue #11).

Each line's progress is *sent / audience*: messages Telegram accepted (the report's ``sent``)
out of the frozen audience once a run has started, else out of who the audience admits now.
A campaign's buttons are only the actions its state allows (:func:`actions_for`); a button
pressed after the state moved on (an old list) is refused by the campaign rules, changes
nothing, and is answered with the state the campaign is in now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.campaigns.model import (
    Action,
    Campaign,
    CampaignError,
    CampaignState,
)
from bot.core.campaigns.uplift import CampaignReport
from bot.core.services.campaigns import (
    CampaignTools,
    audience_size,
    change,
    list_campaigns,
    report,
)

log = logging.getLogger(__name__)

PREFIX = "cm:"
REPORT = "report"
"""The fourth button: the campaign's report, not a change of state."""

_ACTIONS: dict[CampaignState, tuple[Action, ...]] = {
    CampaignState.DRAFT: (Action.SCHEDULE, Action.CANCEL),
    CampaignState.SCHEDULED: (Action.PAUSE, Action.CANCEL),
    CampaignState.RUNNING: (Action.PAUSE, Action.CANCEL),
    CampaignState.PAUSED: (Action.RESUME, Action.CANCEL),
}


def actions_for(state: CampaignState) -> tuple[Action, ...]:
    """The buttons a campaign in `state` offers (done and cancelled: none but the report)."""
    return _ACTIONS.get(state, ())


def button(campaign_id: int, verb: str) -> str:
    return f"{PREFIX}{campaign_id}:{verb}"


def parse_button(data: str) -> tuple[int, Action | None] | None:
    """``cm:<id>:<action>`` → (id, action), or (id, None) for the report; None if malformed."""
    raw_id, _, verb = data.removeprefix(PREFIX).partition(":")
    if not data.startswith(PREFIX) or not raw_id.isdigit():
        return None
    if verb == REPORT:
        return int(raw_id), None
    try:
        return int(raw_id), Action(verb)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class BoardLine:
    campaign: Campaign
    sent: int
    audience: int
    actions: tuple[Action, ...]


async def board(tools: CampaignTools) -> list[BoardLine]:
    """The newest campaigns (``campaign_wizard.list_limit``) with their progress."""
    limit = tools.policies.campaign_wizard.list_limit
    lines = []
    for campaign, progress in (await list_campaigns(tools))[:limit]:
        sent = 0
        if progress:  # a run has started: its frozen audience, and what Telegram took
            figures = await report(tools, campaign.id or 0)
            audience, sent = figures.audience, figures.sent
        elif campaign.state in (CampaignState.DRAFT, CampaignState.SCHEDULED):
            audience = (await audience_size(tools, campaign)).total
        else:
            audience = 0
        lines.append(BoardLine(campaign, sent, audience, actions_for(campaign.state)))
    return lines


@dataclass(frozen=True, slots=True)
class Acted:
    campaign: Campaign | None = None
    """The campaign after the change; when the rules refused it, as it stands (None: there
    is no such campaign)."""
    refused: bool = False
    report: CampaignReport | None = None


async def act(tools: CampaignTools, campaign_id: int, action: Action | None) -> Acted:
    """A campaign's button: the change of state (refused when its state no longer allows
    it — the campaign is returned as it stands), or its report (None)."""
    try:
        if action is None:
            return Acted(report=await report(tools, campaign_id))
        return Acted(campaign=await change(tools, campaign_id, action))
    except CampaignError as exc:
        log.info("campaign %s: %s refused (%s)", campaign_id, action or REPORT, exc)
        return Acted(campaign=await current(tools, campaign_id), refused=True)


async def current(tools: CampaignTools, campaign_id: int) -> Campaign | None:
    """The campaign as stored now (None: there is none)."""
    async with tools.uow() as work:
        return await work.campaigns.get(campaign_id)
