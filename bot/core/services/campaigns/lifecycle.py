"""Campaign use cases before and around delivery: create, list, show (audience size now),
preview, test-send, and the state changes (schedule, pause, resume, cancel)."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.core.campaigns.cron import CronError, next_after, parse_cron
from bot.core.campaigns.model import (
    Action,
    Campaign,
    CampaignError,
    CampaignSpec,
    CampaignState,
    ScheduleKind,
    check_spec,
    in_holdout,
    move,
)
from bot.core.engagement.facts import CustomerFacts
from bot.core.engagement.guards import zone_of
from bot.core.messages import Outgoing
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.services.campaigns.tools import CampaignTools, each_customer, get_campaign, locale_of
from bot.core.services.campaigns.wording import (
    SAMPLE_NAME_KEY,
    preview_offer,
    word,
)

log = logging.getLogger(__name__)

TEST_KEY = "campaign-test:{campaign}:{staff}:{at}:{locale}"
"""Outbox key of a test send: a new one each time it is asked for."""


@dataclass(frozen=True, slots=True)
class AudienceSize:
    """Who the audience admits now, by locale, and how many the holdout draw keeps back."""

    total: int
    by_locale: dict[str, int]
    holdout: int


@dataclass(frozen=True, slots=True)
class Overview:
    campaign: Campaign
    audience: AudienceSize
    progress: dict[str, int]
    """Recipients (every run) by status."""
    in_outbox: int


@dataclass(frozen=True, slots=True)
class PreviewMessage:
    locale: str
    sample: str
    """Whose name it is rendered with: a customer of that locale in the audience, or the
    sample name when there is none."""
    message: Outgoing


def next_run(spec: CampaignSpec, now: datetime) -> datetime:
    """When a campaign scheduled at `now` first runs (CampaignError for a cron expression
    with no moment ahead)."""
    schedule = spec.schedule
    if schedule.kind is ScheduleKind.NOW:
        return now
    if schedule.kind is ScheduleKind.AT:
        assert schedule.at is not None
        return max(schedule.at, now)
    try:
        cron = parse_cron(schedule.cron or "")
    except CronError as exc:
        raise CampaignError(f"schedule.cron: {exc}") from None
    found = next_after(cron, now, zone_of(schedule.timezone, "UTC"))
    if found is None:
        raise CampaignError(f"schedule.cron: {schedule.cron!r} names no moment ahead")
    return found


async def create(tools: CampaignTools, spec: CampaignSpec, created_by: str) -> Campaign:
    """Stores a new campaign as a draft, with a fresh holdout seed; CampaignError when the
    spec is wrong (a template key must exist in the locale it is given for)."""
    locale = tools.policies.locale.default_locale
    check_spec(spec, tuple(tools.renderer.locales), locale)
    for name, message in spec.messages.items():
        if message.template is not None and not tools.renderer.has(message.template, name):
            raise CampaignError(f"message.{name}.template: {message.template!r} is not defined")
    if spec.schedule.kind is ScheduleKind.CRON:
        next_run(spec, tools.clock.now())  # the expression is checked now, not at scheduling
    campaign = Campaign(
        spec=spec,
        state=CampaignState.DRAFT,
        seed=secrets.randbits(62),
        created_at=tools.clock.now(),
        created_by=created_by[:64],
    )
    async with tools.uow() as work:
        stored = await work.campaigns.add(campaign)
        await work.commit()
    log.info("campaign %s created", stored.id)  # not by whom: a name is personal data
    return stored


async def list_campaigns(tools: CampaignTools) -> list[tuple[Campaign, dict[str, int]]]:
    """Every campaign, newest first, with its recipients by status."""
    async with tools.uow() as work:
        campaigns = await work.campaigns.all()
        return [(c, await work.campaigns.progress(c.id or 0)) for c in campaigns]


async def audience_size(tools: CampaignTools, campaign: Campaign) -> AudienceSize:
    """Who the campaign's audience admits now (reads every customer, a page at a time)."""
    by_locale: Counter[str] = Counter()
    held_back = 0
    page = tools.policies.campaigns.batch_size
    async for facts in each_customer(tools, page):
        locale = locale_of(tools, facts)
        if campaign.spec.audience.admits(facts, locale):
            by_locale[locale] += 1
            held_back += in_holdout(campaign.seed, facts.customer_id, campaign.spec.holdout)
    return AudienceSize(sum(by_locale.values()), dict(by_locale), held_back)


async def overview(tools: CampaignTools, campaign_id: int) -> Overview:
    """``show``: the campaign, its audience now, and its progress."""
    async with tools.uow() as work:
        campaign = await get_campaign(work, campaign_id)
        progress = await work.campaigns.progress(campaign_id)
        waiting = await work.campaigns.in_outbox(campaign_id)
    return Overview(campaign, await audience_size(tools, campaign), progress, waiting)


async def preview(tools: CampaignTools, campaign_id: int) -> list[PreviewMessage]:
    """The message as a customer of each locale would get it (a customer of the audience
    when there is one, else the sample name), with its buttons; nothing is written."""
    async with tools.uow() as work:
        campaign = await get_campaign(work, campaign_id)
    locales = list(tools.renderer.locales)
    samples: dict[str, CustomerFacts] = {}
    async for facts in each_customer(tools, tools.policies.campaigns.batch_size):
        locale = locale_of(tools, facts)
        if locale not in samples and campaign.spec.audience.admits(facts, locale):
            samples[locale] = facts
            if len(samples) == len(locales):
                break
    default = tools.policies.locale.default_locale
    shown = []
    for locale in locales:
        sample = samples.get(locale)
        name = sample.name if sample else tools.renderer.render(SAMPLE_NAME_KEY, locale)
        message = word(
            tools.renderer,
            campaign.spec,
            locale,
            default,
            chat_id=(sample.chat_id or 0) if sample else 0,
            name=name,
            offer=preview_offer(tools, campaign.spec, locale),
            customer_id=None,
        )
        shown.append(PreviewMessage(locale, name, message))
    return shown


async def test_send(tools: CampaignTools, campaign_id: int, staff_user_id: int) -> list[int]:
    """Writes the campaign's message in each of its locales to the outbox for one active
    staff member's private chat only (service lane; a coupon is worded, not issued);
    returns the outbox rows. CampaignError when `staff_user_id` is not on the roster."""
    now = tools.clock.now()
    default = tools.policies.locale.default_locale
    written = []
    async with tools.uow() as work:
        campaign = await get_campaign(work, campaign_id)
        member = await work.staff.get(staff_user_id)
        if member is None or not member.active:
            raise CampaignError(f"--to: {staff_user_id} is not an active staff member")
        for locale in campaign.spec.messages:
            message = word(
                tools.renderer,
                campaign.spec,
                locale,
                default,
                chat_id=staff_user_id,
                name=member.name,
                offer=preview_offer(tools, campaign.spec, locale),
                customer_id=None,
            )
            key = TEST_KEY.format(
                campaign=campaign_id, staff=staff_user_id, at=now.isoformat(), locale=locale
            )
            row = await work.outbox.enqueue(OutboxMessage(key, Lane.SERVICE, message, now, now))
            if row is not None:
                written.append(row)
        await work.commit()
    return written


async def change(tools: CampaignTools, campaign_id: int, action: Action) -> Campaign:
    """``schedule``, ``pause``, ``resume`` or ``cancel`` (see
    :func:`~bot.core.campaigns.model.move`). Pause also holds the campaign's messages that
    wait in the outbox (paused rows, never due), resume lets them go again; cancel marks
    every pending recipient cancelled and skips the messages not sent yet (their recipients
    cancelled too, so the report adds up). Returns the campaign as stored."""
    now = tools.clock.now()
    async with tools.uow() as work:
        # Locked first: a batch or a run's end in flight commits before the state is read,
        # so a pause cannot turn a campaign that just finished back into a paused one.
        campaign = await get_campaign(work, campaign_id, for_update=True)
        campaign.state = move(campaign, action)
        if action is Action.SCHEDULE:
            campaign.next_run_at = next_run(campaign.spec, now)
        if action is Action.CANCEL:
            campaign.next_run_at = None
        await work.campaigns.save(campaign)
        if action is Action.PAUSE:
            await work.campaigns.pause_outbox(campaign_id)
        if action is Action.RESUME:
            await work.campaigns.resume_outbox(campaign_id)
        if action is Action.CANCEL:
            await work.campaigns.cancel_pending(campaign_id, now)
            await work.campaigns.cancel_outbox(campaign_id, now)
        await work.commit()
    log.info("campaign %s: %s → %s", campaign_id, action.value, campaign.state.value)
    return campaign
