"""The ``/campaign`` wizard's use cases (issue #11): begin it, and take one answer.

The steps are the pure :func:`bot.core.campaigns.wizard.advance`; this module loads the
staff member's wizard state from their chat's :class:`~bot.core.models.Conversation` row,
applies the answer, carries out its effect through the campaign use cases the command line
calls too (:mod:`bot.core.services.campaigns`: ``create`` on entering the preview, ``change``
to cancel or schedule the draft, ``test_send``, ``preview``, ``audience_size``), and stores
the new state — so a restart mid-wizard continues where it stopped.

The draft is stored on entering the preview (the preview and the test send are of the stored
campaign); Back or Cancel from there cancels it. A crash between storing the draft and
storing the state leaves a draft the wizard does not know of (``rapport campaign cancel``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from bot.core.campaigns.model import Action, Campaign, CampaignError, CampaignSpec, CampaignState
from bot.core.campaigns.wizard import (
    FLOW,
    Context,
    Effect,
    Event,
    Transition,
    WizardState,
    advance,
    audience_of,
    spec_of,
    start,
)
from bot.core.models import Conversation
from bot.core.roles import StaffMember
from bot.core.services.campaigns import (
    AudienceSize,
    CampaignTools,
    PreviewMessage,
    audience_size,
    change,
    create,
    preview,
    test_send,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WizardOutcome:
    """What became of an answer: the transition (its `state` None once the wizard ended),
    the audience now (while the wizard goes on), and what the effect produced."""

    transition: Transition
    size: AudienceSize | None = None
    campaign: Campaign | None = None
    """The stored draft (in the preview), or the campaign just scheduled."""
    previews: list[PreviewMessage] = field(default_factory=list)
    """On entering the preview: the message as each locale's sample customer sees it."""
    tested: int = 0
    """Messages a test send wrote to the staff member's chat."""
    resumed: bool = False
    """``/campaign`` found a wizard under way and shows where it stands."""
    refused: bool = False
    """The campaign rules refused the effect (the draft's state changed elsewhere, say):
    `campaign` is the draft as it stands."""


def context(tools: CampaignTools) -> Context:
    policies = tools.policies
    return Context(
        locales=tuple(tools.renderer.locales),
        default_locale=policies.locale.default_locale,
        zone=policies.locale.default_timezone,
        now=tools.clock.now(),
        policy=policies.campaign_wizard,
    )


async def _load(tools: CampaignTools, chat_id: int) -> WizardState | None:
    async with tools.uow() as work:
        conversation = await work.conversations.get(chat_id)
    if conversation is None or conversation.flow != FLOW:
        return None
    try:
        return WizardState.from_data(conversation.data)
    except (KeyError, TypeError, ValueError):  # written by another version: start afresh
        log.warning("chat %s: an unreadable campaign wizard state was dropped", chat_id)
        return None


async def _store(tools: CampaignTools, chat_id: int, state: WizardState | None) -> None:
    async with tools.uow() as work:
        if state is None:
            await work.conversations.clear(chat_id)
        else:
            await work.conversations.save(
                Conversation(chat_id, FLOW, state.step.value, tools.clock.now(), state.as_data())
            )
        await work.commit()


async def _size(tools: CampaignTools, state: WizardState, draft: Campaign | None) -> AudienceSize:
    """The audience now: the stored draft's (its own holdout draw), else an estimate of the
    holdout with a fixed draw."""
    if draft is None:
        spec = CampaignSpec("", audience_of(state), {}, holdout=state.holdout / 100)
        now = tools.clock.now()
        draft = Campaign(spec, CampaignState.DRAFT, seed=0, created_at=now, created_by="")
    return await audience_size(tools, draft)


async def _draft(tools: CampaignTools, state: WizardState) -> Campaign | None:
    if state.draft_id is None:
        return None
    async with tools.uow() as work:
        return await work.campaigns.get(state.draft_id)


async def begin(tools: CampaignTools, chat_id: int) -> WizardOutcome:
    """``/campaign``: a new wizard at its first step, or the one under way where it stands."""
    state = await _load(tools, chat_id)
    resumed = state is not None
    if state is None:
        state = start(tools.policies.locale.default_timezone)
        await _store(tools, chat_id, state)
    draft = await _draft(tools, state)
    previews = await preview(tools, draft.id) if draft is not None and draft.id else []
    return WizardOutcome(
        Transition(state),
        size=await _size(tools, state, draft),
        campaign=draft,
        previews=previews,
        resumed=resumed,
    )


async def answer(
    tools: CampaignTools, chat_id: int, member: StaffMember, event: Event
) -> WizardOutcome | None:
    """One button press or typed answer in the wizard; None when no wizard is under way in
    this chat (an old button)."""
    state = await _load(tools, chat_id)
    if state is None:
        return None
    moved = advance(state, event, context(tools))
    if moved.stale:
        return WizardOutcome(moved)
    outcome = await _carry_out(tools, state, moved, member)
    await _store(tools, chat_id, outcome.transition.state)
    return outcome


async def _carry_out(
    tools: CampaignTools, before: WizardState, moved: Transition, member: StaffMember
) -> WizardOutcome:
    state = moved.state
    campaign: Campaign | None = None
    previews: list[PreviewMessage] = []
    tested = 0
    try:
        if moved.effect is Effect.STORE_DRAFT and state is not None:
            default = tools.policies.locale.default_locale
            by = f"staff:{member.telegram_user_id}"
            campaign = await create(tools, spec_of(state, default), by)
            state = replace(state, draft_id=campaign.id)
            previews = await preview(tools, campaign.id or 0)
        elif moved.effect is Effect.DISCARD_DRAFT and before.draft_id is not None:
            await _discard(tools, before.draft_id)
        elif moved.effect is Effect.TEST and before.draft_id is not None:
            tested = len(await test_send(tools, before.draft_id, member.telegram_user_id))
            campaign = await _draft(tools, before)
        elif moved.effect is Effect.CONFIRM and before.draft_id is not None:
            campaign = await change(tools, before.draft_id, Action.SCHEDULE)
    except CampaignError as exc:  # the rules refused: the same step again, saying why
        log.info("campaign wizard: %s refused (%s)", moved.effect.value, exc)
        draft = await _draft(tools, before)
        return WizardOutcome(
            Transition(before, correction="campaign_wizard.fix.refused"),
            size=await _size(tools, before, draft),
            campaign=draft,
            refused=True,
        )
    transition = replace(moved, state=state)
    if state is None:
        return WizardOutcome(transition, campaign=campaign)
    if campaign is None:
        campaign = await _draft(tools, state)
    return WizardOutcome(
        transition,
        size=await _size(tools, state, campaign),
        campaign=campaign,
        previews=previews,
        tested=tested,
    )


async def _discard(tools: CampaignTools, draft_id: int) -> None:
    try:
        await change(tools, draft_id, Action.CANCEL)
    except CampaignError:  # already cancelled (or scheduled from the command line meanwhile)
        log.info("campaign %s: the wizard's draft was not cancelled", draft_id)
