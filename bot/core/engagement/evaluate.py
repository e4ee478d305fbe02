"""Who would receive what now, and why everybody else is skipped: the playbook evaluated as a
pure function of the customers' facts, the policy and the clock.

For each rule, in playbook order, and each customer of its audience:

1. **occasions** — a cadence rule has at most one, when :func:`~.periods.is_due` (period from
   :func:`~.periods.period_of`); a trigger rule has one per event whose moment plus ``after``
   has come and plus ``until`` has not passed (period named after the event: ``order-<ref>``,
   ``ticket-<id>``, ``first``, ``dormant-<date>``, ``tier-<date>``). A customer without an
   occasion is *not due* (counted, not listed);
2. **guards** — :func:`~.guards.check` sends, holds (quiet hours) or skips with a reason;
   a ``content: news`` rule with no news new to the customer skips as ``nothing_new``;
3. **variant** — the first whose condition the customer meets (its reason is kept).

A rule with ``action: advisor_task`` plans a staff task, not a message (``deferred``): only
reachability and "already this period" apply to it (its card goes to staff, under the rule's
engagement key), and it takes no place under the cap. The suggested message a person may send
later (:func:`suggested`) is guarded like any marketing message, under the key with
:data:`MESSAGE_SUFFIX`, and counts for the cap from then on.

Messages planned earlier in the same evaluation count for later rules: the cap and "already
sent" see them, so one run never plans three marketing messages for one customer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.core.engagement.facts import CustomerFacts, SentEngagement
from bot.core.engagement.guards import SkipReason, Verdict, check, zone_of
from bot.core.engagement.news import NewsItem, fresh_news
from bot.core.engagement.periods import (
    engagement_key,
    is_due,
    parse_engagement_key,
    period_of,
)
from bot.core.engagement.playbook import (
    Audience,
    CadenceKind,
    Condition,
    Content,
    CouponSpec,
    Playbook,
    Rule,
    RuleAction,
    TriggerKind,
    Variant,
)
from bot.core.locale import resolve_locale
from bot.core.policies import EngagementPolicy
from bot.core.records import OrderStatus
from bot.core.staff_tasks import TaskKind

MESSAGE_SUFFIX = ":message"
"""Appended to a task rule's key for the suggested message sent from its card."""


@dataclass(frozen=True, slots=True)
class Planned:
    """One message the rule would send: to whom, which template in which locale, from when."""

    rule_id: str
    customer_id: int
    chat_id: int
    key: str
    period: str
    locale: str
    template: str
    variant: Condition
    variant_reason: str
    not_before: datetime
    held: bool
    marketing: bool
    name: str
    coupon: CouponSpec | None = None
    order_ref: str | None = None
    news: tuple[NewsItem, ...] = ()
    """For a ``content: news`` rule, the items the message carries, newest first."""
    task: TaskKind | None = None
    """The staff task this plan opens (an advisor check-in; a win-back call-back)."""
    deferred: bool = False
    """The message waits for a person (``action: advisor_task``): only the task is opened."""
    survey: bool = False
    """A ``content: nps`` rule: the message carries the 0–10 buttons of a survey."""


@dataclass(frozen=True, slots=True)
class Skipped:
    rule_id: str
    customer_id: int
    reason: SkipReason
    period: str


@dataclass(slots=True)
class RuleResult:
    rule_id: str
    marketing: bool
    planned: list[Planned] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_due: int = 0
    """Customers of the audience with nothing due for this rule now."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the evaluation needs besides the engagement policy."""

    locales: Sequence[str]
    default_locale: str
    default_timezone: str
    news: tuple[NewsItem, ...] = ()
    """The news items a ``content: news`` rule may carry (recent ones, every locale)."""


@dataclass(frozen=True, slots=True)
class _Occasion:
    period: str
    order_ref: str | None = None


def in_audience(audience: Audience, facts: CustomerFacts, locale: str) -> bool:
    """Whether the customer passes every filter of the audience."""
    if audience.tiers and facts.tier not in audience.tiers:
        return False
    if audience.stages and facts.stage not in audience.stages:
        return False
    if audience.segments and facts.segment not in audience.segments:
        return False
    if audience.tags and not (audience.tags & facts.tags):
        return False
    if audience.languages and locale not in audience.languages:
        return False
    return audience.has_advisor is None or audience.has_advisor == facts.has_advisor


def price_sensitive(facts: CustomerFacts, policy: EngagementPolicy) -> str | None:
    """Why the customer counts as price-sensitive, or None."""
    tags = sorted(facts.tags & policy.price_sensitive_tags)
    if tags:
        return f"tagged {', '.join(tags)}"
    orders = [o for o in facts.orders if o.status is not OrderStatus.CANCELLED]
    with_coupon = sum(1 for o in orders if o.used_coupon)
    if orders and with_coupon / len(orders) > policy.price_sensitive_coupon_share:
        return f"{with_coupon} of {len(orders)} orders used a coupon"
    return None


def unhappy_with_service(
    facts: CustomerFacts, now: datetime, policy: EngagementPolicy
) -> str | None:
    """Why the customer counts as unhappy with service, or None."""
    since = now - timedelta(days=policy.unhappy_complaint_days)
    complaints = sorted(at for at in facts.complaints if at >= since)
    if complaints:
        return f"complaint on {complaints[-1].date().isoformat()}"
    low = [
        (at, s) for at, s in facts.ratings if at >= since and s <= policy.unhappy_rating_at_most
    ]
    if low:
        at, score = max(low)
        return f"rating {score} on {at.date().isoformat()}"
    return None


def choose_variant(
    rule: Rule, facts: CustomerFacts, now: datetime, policy: EngagementPolicy
) -> tuple[Variant, str]:
    """The first variant whose condition holds, with the reason it holds."""
    for variant in rule.variants:
        if variant.when is Condition.DEFAULT:
            return variant, "default"
        if variant.when is Condition.PRICE_SENSITIVE:
            reason = price_sensitive(facts, policy)
        else:
            reason = unhappy_with_service(facts, now, policy)
        if reason is not None:
            return variant, reason
    return rule.variants[-1], "default"


def _template(variant: Variant, locale: str) -> str:
    """The variant's key for `locale` (a checked playbook names one for every locale)."""
    return variant.templates.get(locale) or next(iter(variant.templates.values()))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def occasions(
    rule: Rule, facts: CustomerFacts, now: datetime, policy: EngagementPolicy, context: Context
) -> list[_Occasion]:
    """The periods in which the rule is due for this customer now (see the module doc)."""
    if rule.cadence is not None:
        if rule.cadence.kind is CadenceKind.BIRTHDAY:  # the customer's local date
            today = now.astimezone(zone_of(facts.timezone, context.default_timezone)).date()
        else:
            today = now.date()
        grace = policy.birthday_grace_days
        if not is_due(rule.cadence, today, facts.birthday, grace):
            return []
        return [_Occasion(period_of(rule.cadence, today, facts.birthday, grace))]
    trigger = rule.trigger
    assert trigger is not None
    events: list[tuple[datetime, str, str | None]] = []
    if trigger.on is TriggerKind.ORDER_UNPAID:
        events = [
            (o.created_at, f"order-{o.ref}", o.ref)
            for o in facts.orders
            if o.status is OrderStatus.PENDING
        ]
    elif trigger.on is TriggerKind.ORDER_DELIVERED:
        events = [
            (o.delivered_at, f"order-{o.ref}", o.ref)
            for o in facts.orders
            if o.status is OrderStatus.DELIVERED and o.delivered_at is not None
        ]
    elif trigger.on is TriggerKind.TICKET_RESOLVED:
        events = [(at, f"ticket-{ticket}", None) for ticket, at in facts.resolved_tickets]
    elif trigger.on is TriggerKind.FIRST_ORDER:
        paid = sorted(
            o.paid_at for o in facts.orders if o.paid_at is not None and o.status.counts_as_paid
        )
        events = [(paid[0], "first", None)] if paid else []
    elif trigger.on is TriggerKind.TURNED_DORMANT:
        paid = [
            o.paid_at for o in facts.orders if o.paid_at is not None and o.status.counts_as_paid
        ]
        if paid:
            last = max(paid).date()
            turned = _midnight(last + timedelta(days=policy.active_days + 1))
            events = [(turned, f"dormant-{last.isoformat()}", None)]
    elif trigger.on is TriggerKind.TIER_CHANGED and facts.tier_changed_on is not None:
        day = facts.tier_changed_on
        events = [(_midnight(day), f"tier-{day.isoformat()}", None)]
    found = []
    for moment, period, ref in events:
        if now < moment + trigger.after:
            continue
        if trigger.until is not None and now >= moment + trigger.until:
            continue
        found.append(_Occasion(period, ref))
    return found


class Ledger:
    """What one customer has been sent, growing as the evaluation plans more."""

    def __init__(
        self,
        facts: CustomerFacts,
        marketing_rules: Collection[str],
        known: Collection[str],
        task_rules: Collection[str] = (),
    ) -> None:
        self.keys = {s.key for s in facts.sent}
        self.marketing_at: list[datetime] = []
        self.last_of_rule: dict[str, datetime] = {}
        for sent in facts.sent:
            parsed = parse_engagement_key(sent.key)
            rule_id = parsed[0] if parsed else ""
            if rule_id in task_rules and not sent.key.endswith(MESSAGE_SUFFIX):
                self._note(rule_id, sent.at)  # a task's card went to staff, not the customer
                continue
            # a rule since removed from the playbook counts as marketing: the cap stays safe
            if rule_id in marketing_rules or rule_id not in known:
                self.marketing_at.append(sent.at)
            self._note(rule_id, sent.at)

    @classmethod
    def of(cls, playbook: Playbook, facts: CustomerFacts) -> Ledger:
        """The ledger of `facts` under `playbook`, as :func:`evaluate` builds it."""
        rules = playbook.rules
        return cls(
            facts,
            {r.id for r in rules if r.is_marketing},
            {r.id for r in rules},
            _task_rules(playbook),
        )

    def copy(self) -> Ledger:
        """An independent ledger with the same contents (the simulation hands each day's
        evaluation a copy, so what the day planned but could not word is not kept)."""
        twin = Ledger.__new__(Ledger)
        twin.keys = set(self.keys)
        twin.marketing_at = list(self.marketing_at)
        twin.last_of_rule = dict(self.last_of_rule)
        return twin

    def _note(self, rule_id: str, at: datetime) -> None:
        if rule_id not in self.last_of_rule or at > self.last_of_rule[rule_id]:
            self.last_of_rule[rule_id] = at

    def add(self, planned: Planned) -> None:
        self.keys.add(planned.key)
        if planned.marketing and not planned.deferred:
            self.marketing_at.append(planned.not_before)
        self._note(planned.rule_id, planned.not_before)


def _news_for(
    rule: Rule,
    ledger: Ledger,
    locale: str,
    now: datetime,
    policy: EngagementPolicy,
    context: Context,
) -> tuple[NewsItem, ...]:
    """For a ``content: news`` rule, the items this customer has not been sent yet: added
    within ``news_fresh_days`` and after the rule's last message to them; else ()."""
    if rule.content is not Content.NEWS:
        return ()
    since = now - timedelta(days=policy.news_fresh_days)
    last = ledger.last_of_rule.get(rule.id)
    if last is not None and last > since:
        since = last
    return fresh_news(context.news, locale, since, now, policy.news_max_items)


def evaluate(
    playbook: Playbook,
    customers: Iterable[CustomerFacts],
    now: datetime,
    policy: EngagementPolicy,
    context: Context,
    rule_ids: Collection[str] | None = None,
    ledgers: Mapping[int, Ledger] | None = None,
) -> list[RuleResult]:
    """Every rule's plan for these customers at `now` (see the module docstring). With
    `rule_ids`, only those rules are reported, though every earlier rule still counts for the
    cap, as it would in a real run. With `ledgers` (customer id → the ledger of their
    ``facts.sent``, kept by a caller that evaluates day after day, as the simulation does),
    those are used, and grown by the plan, instead of being built anew from ``facts.sent``."""
    rules = playbook.rules
    marketing_rules = {r.id for r in rules if r.is_marketing}
    known = {r.id for r in rules}
    task_rules = _task_rules(playbook)
    results = {r.id: RuleResult(r.id, r.is_marketing) for r in rules}
    for facts in customers:
        locale = resolve_locale(
            facts.language, facts.language_code, context.default_locale, context.locales
        )
        zone = zone_of(facts.timezone, context.default_timezone)
        if ledgers is not None and facts.customer_id in ledgers:
            ledger = ledgers[facts.customer_id]
        else:
            ledger = Ledger(facts, marketing_rules, known, task_rules)
        for rule in rules:
            result = results[rule.id]
            if not in_audience(rule.audience, facts, locale):
                continue
            found = occasions(rule, facts, now, policy, context)
            if not found:
                result.not_due += 1
                continue
            for occasion in found:
                key = engagement_key(rule.id, facts.customer_id, occasion.period)
                deferred = rule.action is RuleAction.ADVISOR_TASK
                verdict = check(
                    marketing=rule.is_marketing and not deferred,
                    reachability=facts.reachability,
                    has_chat=facts.chat_id is not None,
                    consent=facts.consent,
                    key=key,
                    sent_keys=ledger.keys,
                    last_of_rule=ledger.last_of_rule.get(rule.id),
                    min_interval_days=rule.min_interval_days,
                    marketing_sent_at=ledger.marketing_at,
                    zone=zone,
                    now=now,
                    policy=policy,
                )
                news = _news_for(rule, ledger, locale, now, policy, context)
                if verdict.skipped is None and rule.content is Content.NEWS and not news:
                    verdict = Verdict(SkipReason.NOTHING_NEW)  # it takes no place under the cap
                if verdict.skipped is not None:
                    result.skipped.append(
                        Skipped(rule.id, facts.customer_id, verdict.skipped, occasion.period)
                    )
                    continue
                planned = _plan(rule, facts, key, occasion.period, locale, verdict, now, policy)
                planned = replace(
                    planned,
                    order_ref=occasion.order_ref,
                    news=news,
                    task=TaskKind.ADVISOR_CHECKIN if deferred else planned.task,
                    deferred=deferred,
                    survey=rule.content is Content.NPS,
                )
                ledger.add(planned)
                result.planned.append(planned)
    chosen = [r for r in rules if rule_ids is None or r.id in rule_ids]
    return [results[r.id] for r in chosen]


def _task_rules(playbook: Playbook) -> set[str]:
    return {r.id for r in playbook.rules if r.action is RuleAction.ADVISOR_TASK}


def suggested(
    playbook: Playbook,
    rule: Rule,
    facts: CustomerFacts,
    period: str,
    now: datetime,
    policy: EngagementPolicy,
    context: Context,
) -> Planned | SkipReason:
    """The message a task rule's card suggests, planned now for the customer under the key
    ``engage:<rule>:<customer>:<period>:message`` with the guards of the rule's kind (a
    marketing rule: consent, the minimum interval, quiet hours — held, never dropped — and the
    cap); or why it cannot be sent."""
    ledger = Ledger.of(playbook, facts)
    locale = resolve_locale(
        facts.language, facts.language_code, context.default_locale, context.locales
    )
    key = engagement_key(rule.id, facts.customer_id, period) + MESSAGE_SUFFIX
    verdict = check(
        marketing=rule.is_marketing,
        reachability=facts.reachability,
        has_chat=facts.chat_id is not None,
        consent=facts.consent,
        key=key,
        sent_keys=ledger.keys,
        last_of_rule=None,  # the card itself was this rule's last "send"
        min_interval_days=0,
        marketing_sent_at=ledger.marketing_at,
        zone=zone_of(facts.timezone, context.default_timezone),
        now=now,
        policy=policy,
    )
    if verdict.skipped is not None:
        return verdict.skipped
    planned = _plan(rule, facts, key, period, locale, verdict, now, policy)
    return replace(planned, coupon=None, task=None)  # the card's choice carries neither


def _plan(
    rule: Rule,
    facts: CustomerFacts,
    key: str,
    period: str,
    locale: str,
    verdict: Verdict,
    now: datetime,
    policy: EngagementPolicy,
) -> Planned:
    """The message the guards let through, in the variant the customer meets."""
    assert facts.chat_id is not None and verdict.not_before is not None
    variant, why = choose_variant(rule, facts, now, policy)
    return Planned(
        rule_id=rule.id,
        customer_id=facts.customer_id,
        chat_id=facts.chat_id,
        key=key,
        period=period,
        locale=locale,
        template=_template(variant, locale),
        variant=variant.when,
        variant_reason=why,
        not_before=verdict.not_before,
        held=verdict.held,
        marketing=rule.is_marketing,
        name=facts.name,
        coupon=variant.coupon,
        task=variant.task,
    )


def sent_engagements(keys_and_times: Iterable[tuple[str, datetime]]) -> tuple[SentEngagement, ...]:
    """Helper for readers: the ``engage:`` rows among (key, moment) pairs."""
    return tuple(
        SentEngagement(key, at) for key, at in keys_and_times if parse_engagement_key(key)
    )
