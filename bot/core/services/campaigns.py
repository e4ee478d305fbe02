"""Campaign use cases (SPEC §10, issue #11): create, inspect, preview, test-send, move
between states, deliver and report. The command line (``rapport campaign``) calls them today
and a Telegram wizard can call the same functions: each takes a :class:`CampaignTools` (built
from the bot's :class:`~bot.core.deps.Deps` by :meth:`CampaignTools.of`) and raises
:class:`~bot.core.campaigns.model.CampaignError` with a sentence naming the field or state.

**Delivery** (:func:`tick`, run by the scheduler every ``campaign_tick_seconds``):

1. a scheduled campaign whose time has come starts a run: ``run`` + 1, state running;
2. the run's audience is *frozen*, a page of customers per transaction: every customer the
   audience admits now gets a recipient row, drawn into the holdout or not
   (:func:`~bot.core.campaigns.model.in_holdout`); the page's last customer id is saved with
   it, so a restart carries on where it stopped;
3. pending recipients are *decided*, a batch per transaction, while fewer than
   ``queue_ahead`` of the campaign's messages wait in the outbox: the engagement guards
   (:func:`bot.core.engagement.guards.check`: reachable, consent, quiet hours — held with a
   later ``not_before``, never dropped —, the marketing cap counting playbook and campaign
   messages alike) decide; a message that goes is written to the outbox's proactive lane under
   ``campaign:<campaign>:<run>:<customer>`` in the same transaction as the recipient's status
   (and its coupon, if any): a crash half-way leaves either both or neither, and the outbox's
   unique key means nothing is ever written twice. Holdout customers are asked about too, so
   the report compares like with like, and get nothing;
4. when every recipient is decided the run ends: done, or, for a cron schedule, scheduled
   again for the expression's next moment (the next run freezes its own audience).

A paused campaign decides nobody (its pending recipients wait), and its messages waiting in
the outbox are held there (``paused`` rows, which no sender claims) until resume: only those a
sender had claimed at that moment (at most its batch, already on their way) still go. A batch
being decided takes the campaign's row first (:meth:`~bot.core.ports.CampaignRepository.
lock_running`), so a pause waits for it and holds its rows too. Cancel marks every pending
recipient cancelled and skips the campaign's unsent messages, their recipients cancelled.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.campaigns.cron import CronError, next_after, parse_cron
from bot.core.campaigns.model import (
    Action,
    Campaign,
    CampaignError,
    CampaignSpec,
    CampaignState,
    LocaleMessage,
    Recipient,
    RecipientStatus,
    ScheduleKind,
    check_spec,
    in_holdout,
    move,
    recipient_key,
)
from bot.core.campaigns.uplift import CampaignReport, build_report
from bot.core.consent import OPT_OUT_DATA
from bot.core.coupons import Coupon, CouponSource, issue
from bot.core.deps import Deps
from bot.core.engagement.evaluate import Ledger
from bot.core.engagement.facts import CustomerFacts
from bot.core.engagement.guards import SkipReason, check, zone_of
from bot.core.html_text import TELEGRAM_TEXT_LIMIT, fit_html, visible_length
from bot.core.locale import resolve_locale
from bot.core.messages import OutButton, Outgoing
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.policies import Policies
from bot.core.ports import Clock, Renderer, UnitOfWork, UnitOfWorkFactory
from bot.core.services.coupons import free_code
from bot.core.services.engagement import OFFER_KEY, OPT_OUT_KEY, offer_params, word_offer

log = logging.getLogger(__name__)

SAMPLE_NAME_KEY = "campaign.sample_name"
OFFER_LINE_KEY = "campaign.offer_line"
TEST_KEY = "campaign-test:{campaign}:{staff}:{at}:{locale}"
"""Outbox key of a test send: a new one each time it is asked for."""

_SKIP_STATUS = {
    SkipReason.NO_CONSENT: RecipientStatus.NO_CONSENT,
    SkipReason.CAP: RecipientStatus.CAP,
    SkipReason.BLOCKED: RecipientStatus.UNREACHABLE,
    SkipReason.CHAT_GONE: RecipientStatus.UNREACHABLE,
    SkipReason.NOT_LINKED: RecipientStatus.UNREACHABLE,
}


@dataclass(frozen=True, slots=True)
class CampaignTools:
    """What the campaign use cases need: a subset of :class:`~bot.core.deps.Deps`, so the
    command line can build it without a messenger."""

    uow: UnitOfWorkFactory
    renderer: Renderer
    policies: Policies
    clock: Clock

    @classmethod
    def of(cls, deps: Deps) -> CampaignTools:
        return cls(deps.uow, deps.renderer, deps.policies, deps.clock)


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


@dataclass(slots=True)
class TickReport:
    started: list[int] = field(default_factory=list)
    frozen: Counter[int] = field(default_factory=Counter)
    """Recipients frozen per campaign."""
    decided: Counter[str] = field(default_factory=Counter)
    """Recipients decided, by status."""
    finished: list[int] = field(default_factory=list)


# --- wording ---------------------------------------------------------------------------


def message_for(spec: CampaignSpec, locale: str, default_locale: str) -> tuple[str, LocaleMessage]:
    """The message a customer of `locale` gets (the default locale's when theirs has none),
    with the locale it is written in."""
    if locale in spec.messages:
        return locale, spec.messages[locale]
    return default_locale, spec.messages[default_locale]


def word(
    renderer: Renderer,
    spec: CampaignSpec,
    locale: str,
    default_locale: str,
    *,
    chat_id: int,
    name: str,
    offer: str | None,
    customer_id: int | None,
) -> Outgoing:
    """The campaign's message for one chat: its text (inline text escaped, ``{name}``
    filled in; or its template rendered with ``name`` and ``offer``), the offer line for
    inline text with a coupon, its link buttons, and the opt-out button. Raises whatever the
    renderer raises for a template it cannot render."""
    written_in, message = message_for(spec, locale, default_locale)
    if message.template is not None:
        params: dict[str, Any] = {"name": name, "offer": offer or ""}
        text = renderer.render(message.template, written_in, params)
    else:
        text = html.escape(message.text or "", quote=False).replace(
            "{name}", html.escape(name, quote=False)
        )
        if offer:
            text += "\n\n" + renderer.render(OFFER_LINE_KEY, written_in, {"offer": offer})
    if visible_length(text) > TELEGRAM_TEXT_LIMIT:
        text = fit_html(text, TELEGRAM_TEXT_LIMIT)
    rows = [(OutButton(b.label, "", b.url),) for b in message.buttons]
    rows.append((OutButton(renderer.render(OPT_OUT_KEY, written_in), OPT_OUT_DATA),))
    return Outgoing(
        chat_id=chat_id,
        text=text,
        buttons=tuple(rows),
        template_key=message.template or "campaign.text",
        about_customer_id=customer_id,
    )


def _preview_offer(tools: CampaignTools, spec: CampaignSpec, locale: str) -> str | None:
    coupon = spec.coupon
    if coupon is None:
        return None
    key = OFFER_KEY.format(kind=coupon.kind.value)
    params = offer_params(coupon, tools.policies.engagement.currency)
    return tools.renderer.render(key, locale, params)


# --- lookups ---------------------------------------------------------------------------


async def _get(work: UnitOfWork, campaign_id: int) -> Campaign:
    campaign = await work.campaigns.get(campaign_id)
    if campaign is None:
        raise CampaignError(f"there is no campaign {campaign_id}")
    return campaign


def _locale_of(tools: CampaignTools, facts: CustomerFacts) -> str:
    locale = tools.policies.locale
    return resolve_locale(
        facts.language, facts.language_code, locale.default_locale, tools.renderer.locales
    )


async def _each_customer(tools: CampaignTools, page: int) -> Any:
    after = 0
    while True:
        async with tools.uow() as work:
            chunk = await work.engagement.customer_facts(after_id=after, limit=page)
        if not chunk:
            return
        for facts in chunk:
            yield facts
        after = chunk[-1].customer_id


# --- create and inspect ----------------------------------------------------------------


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
    async for facts in _each_customer(tools, page):
        locale = _locale_of(tools, facts)
        if campaign.spec.audience.admits(facts, locale):
            by_locale[locale] += 1
            held_back += in_holdout(campaign.seed, facts.customer_id, campaign.spec.holdout)
    return AudienceSize(sum(by_locale.values()), dict(by_locale), held_back)


async def overview(tools: CampaignTools, campaign_id: int) -> Overview:
    """``show``: the campaign, its audience now, and its progress."""
    async with tools.uow() as work:
        campaign = await _get(work, campaign_id)
        progress = await work.campaigns.progress(campaign_id)
        waiting = await work.campaigns.in_outbox(campaign_id)
    return Overview(campaign, await audience_size(tools, campaign), progress, waiting)


async def preview(tools: CampaignTools, campaign_id: int) -> list[PreviewMessage]:
    """The message as a customer of each locale would get it (a customer of the audience
    when there is one, else the sample name), with its buttons; nothing is written."""
    async with tools.uow() as work:
        campaign = await _get(work, campaign_id)
    locales = list(tools.renderer.locales)
    samples: dict[str, CustomerFacts] = {}
    async for facts in _each_customer(tools, tools.policies.campaigns.batch_size):
        locale = _locale_of(tools, facts)
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
            offer=_preview_offer(tools, campaign.spec, locale),
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
        campaign = await _get(work, campaign_id)
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
                offer=_preview_offer(tools, campaign.spec, locale),
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
        campaign = await _get(work, campaign_id)
        campaign.state = move(campaign, action)
        if action is Action.SCHEDULE:
            campaign.next_run_at = next_run(campaign.spec, now)
        if action is Action.CANCEL:
            campaign.next_run_at = None
        await work.campaigns.save(campaign)  # first: it waits for a batch being written
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


# --- delivery ---------------------------------------------------------------------------


async def _start(tools: CampaignTools, campaign_id: int, now: datetime) -> bool:
    async with tools.uow() as work:
        campaign = await _get(work, campaign_id)
        if campaign.state is not CampaignState.SCHEDULED:
            return False
        campaign.state = CampaignState.RUNNING
        campaign.run += 1
        campaign.run_started_at = now
        campaign.next_run_at = None
        campaign.cursor = 0
        campaign.frozen = False
        await work.campaigns.save(campaign)
        await work.commit()
    log.info("campaign %s: run %d started", campaign_id, campaign.run)
    return True


async def _freeze_page(tools: CampaignTools, campaign_id: int) -> int | None:
    """Freezes the next page of the current run's audience; the recipients added, or None
    once the audience is frozen completely (or the campaign no longer runs)."""
    async with tools.uow() as work:
        campaign = await _get(work, campaign_id)
        if campaign.state is not CampaignState.RUNNING or campaign.frozen:
            return None
        page = await work.engagement.customer_facts(
            after_id=campaign.cursor, limit=tools.policies.campaigns.batch_size
        )
        spec = campaign.spec
        frozen = [
            Recipient(
                campaign_id=campaign_id,
                run=campaign.run,
                customer_id=facts.customer_id,
                holdout=in_holdout(campaign.seed, facts.customer_id, spec.holdout),
            )
            for facts in page
            if spec.audience.admits(facts, _locale_of(tools, facts))
        ]
        if frozen:
            await work.campaigns.add_recipients(frozen)
        if page:
            campaign.cursor = page[-1].customer_id
        else:
            campaign.frozen = True
        await work.campaigns.save(campaign)
        await work.commit()
    return len(frozen) if page else None


async def _facts_of(work: UnitOfWork, ids: list[int], page: int) -> dict[int, CustomerFacts]:
    """The facts of these customers (ascending ids), read a page at a time from the first."""
    found: dict[int, CustomerFacts] = {}
    after = ids[0] - 1
    wanted = set(ids)
    while after < ids[-1]:
        chunk = await work.engagement.customer_facts(after_id=after, limit=page)
        if not chunk:
            break
        found.update((f.customer_id, f) for f in chunk if f.customer_id in wanted)
        after = chunk[-1].customer_id
    return found


async def _coupon(
    work: UnitOfWork, tools: CampaignTools, campaign: Campaign, customer: int, key: str
) -> Coupon | None:
    spec = campaign.spec.coupon
    if spec is None:
        return None
    policy = tools.policies.engagement
    return issue(
        spec,
        code=await free_code(work, policy.coupon_code_length),
        customer_id=customer,
        currency=policy.currency,
        source=CouponSource.CAMPAIGN,
        source_ref=key,
        now=tools.clock.now(),
    )


@dataclass(frozen=True, slots=True)
class _Going:
    """A decided recipient's message, and the coupon that goes with it (written only if the
    message's row is new)."""

    item: OutboxMessage
    coupon: Coupon | None


async def _decide(
    work: UnitOfWork,
    tools: CampaignTools,
    campaign: Campaign,
    r: Recipient,
    facts: CustomerFacts | None,
    now: datetime,
) -> _Going | None:
    """Decides one recipient (see the module docstring, step 3): sets its status, and
    returns the message to write when one goes."""
    r.decided_at = now
    if facts is None:  # erased since the freeze
        r.status, r.reason = RecipientStatus.UNREACHABLE, "gone"
        return None
    engagement = tools.policies.engagement
    playbook = engagement.playbook
    ledger = Ledger(facts, {x.id for x in playbook.rules if x.is_marketing}, playbook.by_id)
    assert campaign.id is not None
    key = recipient_key(campaign.id, r.run, facts.customer_id)
    locale = _locale_of(tools, facts)
    verdict = check(
        marketing=True,
        reachability=facts.reachability,
        has_chat=facts.chat_id is not None,
        consent=facts.consent,
        key=key,
        sent_keys=ledger.keys,
        last_of_rule=None,
        min_interval_days=0,
        marketing_sent_at=ledger.marketing_at,
        zone=zone_of(facts.timezone, tools.policies.locale.default_timezone),
        now=now,
        policy=engagement,
    )
    r.not_before, r.held = verdict.not_before, verdict.held
    if r.holdout:
        r.status = RecipientStatus.HOLDOUT
        r.reason = verdict.skipped.value if verdict.skipped is not None else ""
        return None
    if verdict.skipped is SkipReason.ALREADY_SENT:
        r.status = RecipientStatus.QUEUED
        return None
    if verdict.skipped is not None:
        r.status, r.reason = (
            _SKIP_STATUS.get(verdict.skipped, RecipientStatus.CAP),
            verdict.skipped,
        )
        return None
    assert facts.chat_id is not None and verdict.not_before is not None
    coupon = await _coupon(work, tools, campaign, facts.customer_id, key)
    offer = word_offer(tools.renderer, coupon, locale) if coupon is not None else None
    try:
        message = word(
            tools.renderer,
            campaign.spec,
            locale,
            tools.policies.locale.default_locale,
            chat_id=facts.chat_id,
            name=facts.name,
            offer=offer,
            customer_id=facts.customer_id,
        )
    except Exception as exc:  # the renderer's error type is the template engine's own
        log.warning(
            "campaign %s: cannot word for a %s customer (%s)",
            campaign.id,
            locale,
            type(exc).__name__,
        )
        r.status, r.reason = RecipientStatus.UNWORDED, type(exc).__name__
        return None
    r.status = RecipientStatus.QUEUED
    item = OutboxMessage(key, Lane.PROACTIVE, message, now, verdict.not_before)
    return _Going(item, coupon)


async def _deliver_batch(tools: CampaignTools, campaign_id: int, report: TickReport) -> bool:
    """Decides one batch of the current run's pending recipients and writes their messages
    with one :meth:`~bot.core.ports.OutboxRepository.enqueue_many` (a coupon only with a
    message that was new); False when there was nothing to do (paused, the outbox full of
    this campaign, or nobody pending)."""
    policy = tools.policies.campaigns
    now = tools.clock.now()
    async with tools.uow() as work:
        if not await work.campaigns.lock_running(campaign_id):  # paused, cancelled, done
            return False
        campaign = await _get(work, campaign_id)
        room = policy.queue_ahead - await work.campaigns.in_outbox(campaign_id)
        if room <= 0:
            return False
        pending = await work.campaigns.pending(
            campaign_id, campaign.run, min(room, policy.batch_size)
        )
        if not pending:
            if campaign.frozen:
                await _finish_run(work, campaign, now)
                report.finished.append(campaign_id)
                await work.commit()
            return False
        facts = await _facts_of(work, [r.customer_id for r in pending], policy.batch_size)
        going: list[_Going] = []
        for r in pending:
            message = await _decide(work, tools, campaign, r, facts.get(r.customer_id), now)
            if message is not None:
                going.append(message)
            report.decided[r.status.value] += 1
        written = set(await work.outbox.enqueue_many([g.item for g in going]))
        for g in going:  # in the transaction that wrote its message
            if g.coupon is not None and g.item.key in written:
                await work.coupons.add(g.coupon)
        await work.campaigns.decide(pending)
        await work.commit()
    return True


async def _finish_run(work: UnitOfWork, campaign: Campaign, now: datetime) -> None:
    """Every recipient of the run is decided: done, or scheduled for its next cron moment."""
    campaign.run_started_at = None
    if campaign.spec.schedule.recurring:
        try:
            campaign.next_run_at = next_run(campaign.spec, now)
            campaign.state = CampaignState.SCHEDULED
        except CampaignError:
            campaign.state = CampaignState.DONE
    else:
        campaign.state = CampaignState.DONE
    await work.campaigns.save(campaign)
    log.info("campaign %s: run %d decided; %s", campaign.id, campaign.run, campaign.state.value)


async def tick(tools: CampaignTools) -> TickReport:
    """One pass of the delivery (see the module docstring): starts due campaigns, freezes
    running ones' audiences, and decides their recipients while the outbox has room."""
    report = TickReport()
    now = tools.clock.now()
    async with tools.uow() as work:
        due = await work.campaigns.due(now)
    for campaign_id in due:
        if await _start(tools, campaign_id, now):
            report.started.append(campaign_id)
    async with tools.uow() as work:
        running = await work.campaigns.running()
    for campaign_id in running:
        while (added := await _freeze_page(tools, campaign_id)) is not None:
            report.frozen[campaign_id] += added
        while await _deliver_batch(tools, campaign_id, report):
            pass
    return report


# --- report -----------------------------------------------------------------------------


async def report(tools: CampaignTools, campaign_id: int, run: int | None = None) -> CampaignReport:
    """The campaign's report (every run, or one): see :mod:`bot.core.campaigns.uplift`.
    Orders count from the moment each message went (or would have gone) out for
    ``report_days`` days."""
    policy = tools.policies.campaigns
    async with tools.uow() as work:
        await _get(work, campaign_id)
        outcomes = await work.campaigns.outcomes(campaign_id, run)
        moments = [o.at for o in outcomes if o.at is not None]
        orders = []
        if moments:
            until = max(moments) + timedelta(days=policy.report_days)
            orders = await work.campaigns.orders_of(
                {o.customer_id for o in outcomes}, min(moments), until
            )
        issued, redeemed = await work.campaigns.coupons(campaign_id)
    return build_report(
        outcomes,
        orders,
        window_days=policy.report_days,
        confidence=policy.confidence,
        coupons_issued=issued,
        coupons_redeemed=redeemed,
    )
