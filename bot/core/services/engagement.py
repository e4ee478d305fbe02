"""Engagement use cases: the playbook evaluated over every customer in the database.

:func:`preview` reads the customers' facts page by page through the unit of work's
:class:`~bot.core.ports.EngagementFactsReader` and evaluates each page
(:func:`bot.core.engagement.evaluate.evaluate`); it writes nothing (``rapport playbook
preview``).

:func:`run_playbook` does the same and, in the unit of work that read each page, writes every
planned message to the outbox's proactive lane under its key
``engage:<rule>:<customer>:<period>``, with ``not_before`` at the moment the guards chose (the
end of the quiet hours for a held one). The outbox keeps keys unique, so a second run — or a
restart, or a second process — enqueues nothing new. Marketing messages carry an opt-out
button (:data:`bot.core.consent.OPT_OUT_DATA`; its routes are in
:mod:`bot.handlers.consent`). A message whose template needs content the engine cannot give
yet (the mid tier's ``news``, until news items exist) is not written and is counted as
``unrendered``; the next run tries again.

:func:`simulate_playbook` reads every customer's facts and runs the playbook over a span of
simulated days (:mod:`bot.core.engagement.simulate`); it writes nothing (``rapport playbook
simulate``).

A rule with a coupon specification issues the coupon with its message: the code goes into the
text (``engage.offer.<kind>``: value, code, last day), and the coupon is stored in the same
unit of work, only once its outbox row was written (the key was free). Its ``source_ref`` is
the engagement key, unique with the source: the coupon exists exactly when its message does,
once per key, whatever the re-runs, restarts or processes. A message that cannot be worded
issues nothing.

A rule with ``action: advisor_task`` writes no message: it opens an ``advisor_checkin`` staff
task whose card goes to the customer's dedicated advisor (or the supervisors' chat) under the
rule's key; the win-back variant with ``task: callback`` opens a call-back task in the
supervisors' chat with its message (:mod:`bot.core.services.task_cards`). Each task is unique
per (kind, customer, period) and is written in the unit of work of its plan.

A ``content: nps`` rule (the satisfaction surveys) stores a survey row (:mod:`bot.core.surveys`)
before its message, whose 0–10 buttons carry the row's id; the row is unique per (customer,
rule, period), like the message's key, so each survey goes out once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from bot.core import surveys
from bot.core.consent import OPT_OUT_DATA
from bot.core.coupons import Coupon, CouponSource, issue
from bot.core.delivery import render_reply
from bot.core.deps import Deps
from bot.core.engagement.evaluate import Context, Planned, RuleResult, evaluate
from bot.core.engagement.facts import CustomerFacts
from bot.core.engagement.playbook import Content, CouponKind, CouponSpec, Playbook
from bot.core.engagement.simulate import Simulation, simulate
from bot.core.messages import Button, Outgoing, Reply
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.policies import EngagementPolicy
from bot.core.ports import Renderer, UnitOfWork, UnitOfWorkFactory
from bot.core.services.coupons import free_code
from bot.core.services.task_cards import open_task
from bot.core.staff_tasks import StaffTask
from bot.core.tiers import TierPolicy

log = logging.getLogger(__name__)

OPT_OUT_KEY = "engage.opt_out_button"
SCORE_KEY = "nps.button.score"
OFFER_KEY = "engage.offer.{kind}"


@dataclass(slots=True)
class EngagementRun:
    """What one run of the playbook did."""

    queued: list[int] = field(default_factory=list)
    """Outbox rows written that are due now (held ones wait for the senders)."""
    written: Counter[str] = field(default_factory=Counter)
    """Rows written per rule (due now or held)."""
    already: int = 0
    """Planned messages whose key another process wrote first."""
    unrendered: Counter[str] = field(default_factory=Counter)
    """Planned messages per rule that could not be worded (content missing)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Skips by reason (consent, cap, …) over all rules."""
    coupons: int = 0
    """Coupons issued with the messages written."""
    tasks: Counter[str] = field(default_factory=Counter)
    """Staff tasks opened per rule (advisor check-ins, call-backs)."""


def context_of(deps: Deps) -> Context:
    locale = deps.policies.locale
    return Context(deps.renderer.locales, locale.default_locale, locale.default_timezone)


def money(cents: int, currency: str) -> str:
    return f"{Decimal(cents) / 100:.2f} {currency}"


def offer_params(
    coupon: CouponSpec, currency: str, issued: Coupon | None = None
) -> dict[str, Any]:
    """The parameters of ``engage.offer.<kind>``: with the `issued` coupon, its code and the
    last day it can be used; without (a preview), the days it will be valid."""
    if coupon.kind is CouponKind.PERCENT:
        value: object = coupon.value
    elif coupon.kind is CouponKind.FIXED:
        value = money(coupon.value or 0, currency)
    else:
        value = None
    min_spend = money(coupon.min_spend_cents, currency) if coupon.min_spend_cents else ""
    params: dict[str, Any] = {
        "value": value,
        "min_spend": min_spend,
        "valid_days": coupon.valid_days,
    }
    if issued is not None:
        params["code"] = issued.code
        params["until"] = issued.last_day.isoformat()
    return params


def spec_of(coupon: Coupon) -> CouponSpec:
    """What an issued coupon offers, as a specification (to word it with ``engage.offer``)."""
    return CouponSpec(coupon.kind, coupon.value, coupon.min_spend_cents)


def word_offer(renderer: Renderer, coupon: Coupon, locale: str) -> str:
    """An issued coupon in words: value, minimum spend, code and last day."""
    key = OFFER_KEY.format(kind=coupon.kind.value)
    return renderer.render(key, locale, offer_params(spec_of(coupon), coupon.currency, coupon))


def message_params(
    renderer: Renderer,
    planned: Planned,
    currency: str,
    extra: Mapping[str, Any],
    coupon: Coupon | None = None,
) -> dict[str, Any]:
    """What the rule's template is rendered with: ``name``, ``order`` for order rules,
    ``news`` (items with ``title`` and ``body``) for news rules, and ``offer`` (worded in the
    customer's locale; with the issued `coupon`'s code and last day) for rules with a
    coupon."""
    params: dict[str, Any] = {"name": planned.name, **extra}
    if planned.order_ref is not None:
        params["order"] = planned.order_ref
    if planned.news:
        params["news"] = [{"title": i.title, "body": i.body} for i in planned.news]
    if coupon is not None:
        params["offer"] = word_offer(renderer, coupon, planned.locale)
    elif planned.coupon is not None:
        key = OFFER_KEY.format(kind=planned.coupon.kind.value)
        params["offer"] = renderer.render(
            key, planned.locale, offer_params(planned.coupon, currency)
        )
    return params


def survey_buttons(survey_id: int) -> tuple[tuple[Button, ...], ...]:
    """A survey's 0–10 buttons, in two rows (0–5, 6–10)."""
    return tuple(
        tuple(Button(SCORE_KEY, surveys.score_data(survey_id, n), {"score": n}) for n in row)
        for row in surveys.ROWS
    )


def word(
    renderer: Renderer,
    planned: Planned,
    currency: str,
    extra: Mapping[str, Any] | None = None,
    coupon: Coupon | None = None,
    survey_id: int | None = None,
) -> Outgoing | None:
    """The planned message rendered, with the opt-out button when it is marketing (under the
    survey's score buttons, with `survey_id`); None when its template needs a parameter the
    engine does not have."""
    buttons: tuple[tuple[Button, ...], ...] = ()
    if survey_id is not None:
        buttons = survey_buttons(survey_id)
    if planned.marketing:
        buttons = (*buttons, (Button(OPT_OUT_KEY, OPT_OUT_DATA),))
    try:
        reply = Reply(
            planned.template,
            message_params(renderer, planned, currency, extra or {}, coupon),
            buttons=buttons,
            chat_id=planned.chat_id,
            locale=planned.locale,
            about_customer_id=planned.customer_id,
        )
        return render_reply(renderer, reply, planned.locale, planned.chat_id)
    except Exception as exc:  # the renderer's error type is the template engine's own
        log.debug("cannot word %s for customer %s: %s", planned.key, planned.customer_id, exc)
        return None


async def with_news(
    uow: UnitOfWorkFactory,
    context: Context,
    playbook: Playbook,
    policy: EngagementPolicy,
    start: datetime,
) -> Context:
    """`context` with the news items that runs from `start` on may carry (those added within
    ``news_fresh_days`` before it, and since); unchanged when no rule carries news."""
    if not any(rule.content is Content.NEWS for rule in playbook.rules):
        return context
    async with uow() as work:
        items = await work.news.since(start - timedelta(days=policy.news_fresh_days))
    return replace(context, news=tuple(items))


async def _page(
    uow: UnitOfWork,
    after: int,
    limit: int,
    playbook: Playbook,
    now: datetime,
    policy: EngagementPolicy,
    context: Context,
    rule_ids: Collection[str] | None,
) -> tuple[int | None, list[RuleResult], dict[int, CustomerFacts]]:
    facts = await uow.engagement.customer_facts(after_id=after, limit=limit)
    if not facts:
        return None, [], {}
    results = evaluate(playbook, facts, now, policy, context, rule_ids)
    return facts[-1].customer_id, results, {f.customer_id: f for f in facts}


async def _coupon_for(
    uow: UnitOfWork, planned: Planned, policy: EngagementPolicy, now: datetime
) -> Coupon | None:
    """The coupon the planned message carries (not stored yet: only once its message is),
    with a code no stored coupon has; its reference is the message's engagement key."""
    if planned.coupon is None:
        return None
    return issue(
        planned.coupon,
        code=await free_code(uow, policy.coupon_code_length),
        customer_id=planned.customer_id,
        currency=policy.currency,
        source=CouponSource.RULE,
        source_ref=planned.key,
        now=now,
    )


async def preview(
    uow: UnitOfWorkFactory,
    playbook: Playbook,
    now: datetime,
    policy: EngagementPolicy,
    context: Context,
    rule_ids: Collection[str] | None = None,
    page: int = 500,
) -> list[RuleResult]:
    """Every (chosen) rule's plan over all customers at `now`; nothing is written."""
    wanted = [r for r in playbook.rules if rule_ids is None or r.id in rule_ids]
    merged = {r.id: RuleResult(r.id, r.is_marketing) for r in wanted}
    context = await with_news(uow, context, playbook, policy, now)
    after: int | None = 0
    while after is not None:
        async with uow() as work:
            after, results, _facts = await _page(
                work, after, page, playbook, now, policy, context, rule_ids
            )
        for result in results:
            total = merged[result.rule_id]
            total.planned.extend(result.planned)
            total.skipped.extend(result.skipped)
            total.not_due += result.not_due
    return [merged[r.id] for r in wanted]


async def simulate_playbook(
    uow: UnitOfWorkFactory,
    playbook: Playbook,
    span: tuple[date, date],
    *,
    policy: EngagementPolicy,
    context: Context,
    tier_policy: TierPolicy,
    run_at: time,
    renderer: Renderer,
    page: int = 500,
) -> Simulation:
    """The playbook run once a day over `span` (both days included) on the customers in the
    database (:func:`bot.core.engagement.simulate.simulate`): reads every customer's facts,
    writes and sends nothing. A planned message counts as sent only if it can be worded, as in
    a real run. Holds every customer's facts in memory at once."""
    customers: list[CustomerFacts] = []
    after = 0
    while True:
        async with uow() as work:
            chunk = await work.engagement.customer_facts(after_id=after, limit=page)
        if not chunk:
            break
        customers.extend(chunk)
        after = chunk[-1].customer_id

    def wordable(planned: Planned) -> bool:
        return word(renderer, planned, policy.currency) is not None

    start, end = span
    first_run = datetime.combine(start, run_at, tzinfo=UTC)
    context = await with_news(uow, context, playbook, policy, first_run)
    return simulate(
        playbook,
        customers,
        start,
        end,
        policy=policy,
        context=context,
        tier_policy=tier_policy,
        run_at=run_at,
        wordable=wordable,
    )


async def _open_task(
    deps: Deps,
    uow: UnitOfWork,
    planned: Planned,
    facts: Mapping[int, CustomerFacts],
    now: datetime,
) -> int | None:
    """Opens the staff task `planned` calls for (:mod:`bot.core.services.task_cards`): an
    advisor check-in's card goes out under the rule's engagement key (so "already this
    period" sees it), a call-back's under its own. Returns the card's outbox row, or None
    when nothing was opened (it exists already, or no staff chat is configured)."""
    assert planned.task is not None
    task = StaffTask(
        kind=planned.task,
        customer_id=planned.customer_id,
        period=planned.period,
        chat_id=0,
        opened_at=now,
        reason=f"{planned.rule_id} {planned.period}: {planned.variant_reason}",
        rule_id=planned.rule_id,
    )
    key = planned.key if planned.deferred else None
    customer = facts[planned.customer_id]
    opened = await open_task(uow, deps.renderer, deps.policies, task, customer, now=now, key=key)
    return opened[1] if opened is not None else None


async def _survey_for(
    uow: UnitOfWork, planned: Planned, facts: Mapping[int, CustomerFacts], now: datetime
) -> int | None:
    """Stores the survey the planned message carries (with the customer's tier now) and
    returns its id; None when it was sent before (unique per customer, rule and period). The
    caller has checked the message can be worded."""
    tier = facts[planned.customer_id].tier.value
    survey = surveys.Survey(planned.customer_id, planned.rule_id, planned.period, tier, now)
    stored = await uow.surveys.add(survey)
    return stored.id if stored is not None else None


async def run_playbook(deps: Deps, page: int = 500) -> EngagementRun:
    """Evaluates the deployment's playbook now and writes what is due to the outbox, one page
    of customers per unit of work (see the module docstring). Returns what it did."""
    now = deps.clock.now()
    policy = deps.policies.engagement
    context = await with_news(deps.uow, context_of(deps), policy.playbook, policy, now)
    report = EngagementRun()
    after: int | None = 0
    while after is not None:
        async with deps.uow() as work:
            after, results, facts = await _page(
                work, after, page, policy.playbook, now, policy, context, None
            )
            for result in results:
                report.skipped.update(s.reason.value for s in result.skipped)
                for planned in result.planned:
                    if planned.deferred:  # an advisor's task instead of a message
                        card = await _open_task(deps, work, planned, facts, now)
                        report.tasks[planned.rule_id] += card is not None
                        report.queued.extend([card] if card else [])
                        continue
                    coupon = await _coupon_for(work, planned, policy, now)
                    survey = None
                    if planned.survey:  # its row first: the buttons carry its id
                        if word(deps.renderer, planned, policy.currency) is None:
                            report.unrendered[planned.rule_id] += 1
                            continue
                        survey = await _survey_for(work, planned, facts, now)
                        if survey is None:
                            report.already += 1
                            continue
                    message = word(
                        deps.renderer, planned, policy.currency, coupon=coupon, survey_id=survey
                    )
                    if message is None:
                        report.unrendered[planned.rule_id] += 1
                        continue
                    item = OutboxMessage(
                        key=planned.key,
                        lane=Lane.PROACTIVE,
                        message=message,
                        created_at=now,
                        not_before=planned.not_before,
                    )
                    row = await work.outbox.enqueue(item)
                    if row is None:
                        report.already += 1
                        continue
                    if coupon is not None:  # in the transaction that wrote its message
                        await work.coupons.add(coupon)
                        report.coupons += 1
                    if planned.task is not None:  # win-back unhappy: a call-back, once
                        card = await _open_task(deps, work, planned, facts, now)
                        report.tasks[planned.rule_id] += card is not None
                        report.queued.extend([card] if card else [])
                    report.written[planned.rule_id] += 1
                    if planned.not_before <= now:
                        report.queued.append(row)
            await work.commit()
    for rule_id, n in report.unrendered.items():
        log.info("engagement: %d message(s) of rule %s not worded (content missing)", n, rule_id)
    if report.written:
        log.info("engagement: wrote %s", dict(report.written))
    return report
