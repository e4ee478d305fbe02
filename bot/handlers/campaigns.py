"""``/campaign`` (the wizard) and ``/campaigns`` (the list), in a private chat with the bot.

These serve staff routes with the ``campaigns`` action: the dispatcher has checked that the
sender is on the roster with a role that runs campaigns (marketing, admin) and audited the
attempt; anyone else — a customer, an agent — gets the routes' courteous refusal and nothing
changes, whatever button data they send. The steps are
:func:`bot.core.campaigns.wizard.advance`, carried out by
:mod:`bot.core.services.campaign_drafts`; the words are :mod:`bot.flows.campaign_wizard`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.campaigns.wizard import Typed, parse_button
from bot.core.deps import Deps
from bot.core.dispatch import Result, StaffTurn
from bot.core.messages import CallbackAnswer, Reply
from bot.core.services import campaign_board as board_use
from bot.core.services import campaign_drafts as drafts
from bot.core.services.campaign_drafts import WizardOutcome
from bot.core.services.campaigns import CampaignTools
from bot.flows import campaign_wizard as view

EXPIRED = "campaign_wizard.expired"


def _replies(deps: Deps, outcome: WizardOutcome, edit: int | None = None) -> list[Reply]:
    policies = deps.policies
    return view.outcome_replies(
        outcome,
        deps.renderer.locales,
        policies.locale.default_locale,
        policies.campaign_wizard,
        policies.engagement.currency,
        edit,
    )


async def on_campaign(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``/campaign``: the wizard's first step (or, under way, the step it stands at)."""
    outcome = await drafts.begin(CampaignTools.of(deps), turn.msg.chat_id)
    return _replies(deps, outcome)


async def on_wizard_button(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``cw:<step>:<verb>[:<arg>]``: a wizard button."""
    msg = turn.msg
    assert msg.callback_id is not None
    press = parse_button(msg.callback_data or "")
    outcome = None
    if press is not None:
        outcome = await drafts.answer(CampaignTools.of(deps), msg.chat_id, turn.member, press)
    if outcome is None or outcome.transition.stale:
        return [CallbackAnswer(msg.callback_id, EXPIRED)]
    return [CallbackAnswer(msg.callback_id), *_replies(deps, outcome, msg.message_id)]


async def on_wizard_text(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """A typed answer while the wizard is under way (the message, a link, a time)."""
    text = turn.msg.text or ""
    outcome = await drafts.answer(
        CampaignTools.of(deps), turn.msg.chat_id, turn.member, Typed(text)
    )
    if outcome is None:
        return [Reply(EXPIRED)]
    return _replies(deps, outcome)


async def on_campaigns(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``/campaigns``: the newest campaigns with state, progress and their buttons."""
    lines = await board_use.board(CampaignTools.of(deps))
    if not lines:
        return [Reply("campaign_wizard.board_empty")]
    return [view.board_reply(lines)]


async def on_campaign_button(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
    """``cm:<id>:<pause|resume|cancel|schedule|report>`` under ``/campaigns``."""
    msg = turn.msg
    assert msg.callback_id is not None
    parsed = board_use.parse_button(msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(msg.callback_id, EXPIRED)]
    campaign_id, action = parsed
    tools = CampaignTools.of(deps)
    acted = await board_use.act(tools, campaign_id, action)
    if acted.campaign is None and acted.report is None:
        return [CallbackAnswer(msg.callback_id, "campaign_wizard.gone", {"id": campaign_id})]
    if acted.refused:
        assert acted.campaign is not None
        state = {"id": campaign_id, "now_state": acted.campaign.state.value}
        return [CallbackAnswer(msg.callback_id, "campaign_wizard.refused", state)]
    if acted.report is not None:
        report = view.report_reply(campaign_id, acted.report)
        return [CallbackAnswer(msg.callback_id), report]
    assert action is not None
    lines = await board_use.board(tools)
    return [
        CallbackAnswer(msg.callback_id, view.action_done(action), {"id": campaign_id}),
        view.board_reply(lines, msg.message_id),
    ]
