"""Campaign **delivery** (:func:`tick`, run by the scheduler every ``campaign_tick_seconds``):

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

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.campaigns.model import (
    Campaign,
    CampaignError,
    CampaignState,
    Recipient,
    RecipientStatus,
    in_holdout,
    recipient_key,
)
from bot.core.coupons import Coupon, CouponSource, issue
from bot.core.engagement.evaluate import Ledger
from bot.core.engagement.facts import CustomerFacts
from bot.core.engagement.guards import SkipReason, check, zone_of
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.ports import UnitOfWork
from bot.core.services.campaigns.lifecycle import next_run
from bot.core.services.campaigns.tools import CampaignTools, get_campaign, locale_of
from bot.core.services.campaigns.wording import (
    word,
)
from bot.core.services.coupons import free_code
from bot.core.services.engagement import word_offer

log = logging.getLogger(__name__)

_SKIP_STATUS = {
    SkipReason.NO_CONSENT: RecipientStatus.NO_CONSENT,
    SkipReason.CAP: RecipientStatus.CAP,
    SkipReason.BLOCKED: RecipientStatus.UNREACHABLE,
    SkipReason.CHAT_GONE: RecipientStatus.UNREACHABLE,
    SkipReason.NOT_LINKED: RecipientStatus.UNREACHABLE,
}


@dataclass(slots=True)
class TickReport:
    started: list[int] = field(default_factory=list)
    frozen: Counter[int] = field(default_factory=Counter)
    """Recipients frozen per campaign."""
    decided: Counter[str] = field(default_factory=Counter)
    """Recipients decided, by status."""
    finished: list[int] = field(default_factory=list)


async def start_run(tools: CampaignTools, campaign_id: int, now: datetime) -> bool:
    """A scheduled campaign starts its next run (step 1); False if it is not scheduled."""
    async with tools.uow() as work:
        campaign = await get_campaign(work, campaign_id)
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


async def freeze_page(tools: CampaignTools, campaign_id: int) -> int | None:
    """Freezes the next page of the current run's audience; the recipients added, or None
    once the audience is frozen completely (or the campaign no longer runs)."""
    async with tools.uow() as work:
        campaign = await get_campaign(work, campaign_id)
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
            if spec.audience.admits(facts, locale_of(tools, facts))
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
    locale = locale_of(tools, facts)
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
    message that was new); False when there was nothing to do (paused, no room in the
    outbox for a whole batch of this campaign, or nobody pending)."""
    policy = tools.policies.campaigns
    now = tools.clock.now()
    async with tools.uow() as work:
        if not await work.campaigns.lock_running(campaign_id):  # paused, cancelled, done
            return False
        campaign = await get_campaign(work, campaign_id)
        room = policy.queue_ahead - await work.campaigns.in_outbox(campaign_id)
        if room < min(policy.batch_size, policy.queue_ahead):  # whole batches only: a
            return False  # trickle of tiny ones as the sender drains would hold the tick
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
        if await start_run(tools, campaign_id, now):
            report.started.append(campaign_id)
    async with tools.uow() as work:
        running = await work.campaigns.running()
    for campaign_id in running:
        while (added := await freeze_page(tools, campaign_id)) is not None:
            report.frozen[campaign_id] += added
        while await _deliver_batch(tools, campaign_id, report):
            pass
    return report
