"""The playbook over a span of simulated days, as a pure function (``rapport playbook
simulate``, issue #10).

Day by day, at one moment of each day (the daily run), the customers' facts are taken **as
they were at that moment** and the playbook is evaluated over them
(:func:`~bot.core.engagement.evaluate.evaluate`, the very function the hourly job runs):

* orders not yet created are left out; a paid or delivered order counts as pending until its
  ``paid_at`` and as paid until its ``delivered_at``; refunded and cancelled orders keep that
  status from their creation (the moment of a refund or cancellation is not recorded);
  complaints, ratings and resolved tickets after the moment are left out;
* tier, RF segment and lifecycle stage are recomputed for the day from those orders, as the
  nightly recompute does (:func:`~bot.core.tiers.assign_tiers_arrays`), and a changed tier
  sets ``tier_changed_on``;
* every message the simulation "sent" is added to the customer's sent messages, so "already
  sent this period", the minimum interval and the cap hold on the following days as they
  would. A planned message that cannot be worded (``wordable`` says no: its template needs
  content that does not exist, such as the mid tier's news) is not sent, as in a real run,
  and counted as skipped ``unrendered``.

Nothing is written or sent: the result is counts — per rule, ``sent`` and ``skipped`` by
reason (every day's skip counts: a customer skipped for consent on 30 days counts 30) — and
:attr:`Simulation.max_marketing_in_window`, the most marketing messages any customer would get
within any :data:`MARKETING_WINDOW` (SPEC §8: at most 2 in 7 days).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.core.engagement.evaluate import Context, Ledger, Planned, evaluate
from bot.core.engagement.facts import CustomerFacts, OrderFact, SentEngagement
from bot.core.engagement.playbook import Playbook
from bot.core.policies import EngagementPolicy
from bot.core.records import OrderStatus
from bot.core.tiers import (
    LIFECYCLES_BY_CODE,
    SEGMENTS_BY_CODE,
    TIERS_BY_CODE,
    Lifecycle,
    Segment,
    Tier,
    TierPolicy,
    window_start,
)

#: The span over which marketing messages to one customer are counted for
#: :attr:`Simulation.max_marketing_in_window` (SPEC §8's "per 7 days").
MARKETING_WINDOW = timedelta(days=7)
UNRENDERED = "unrendered"


@dataclass(slots=True)
class RuleTally:
    marketing: bool
    sent: int = 0
    """Messages sent; for an ``advisor_task`` rule, tasks opened (its suggested message is
    sent only if staff choose so, which a simulation cannot know: it is not counted under
    ``max_marketing_in_7_days`` either)."""
    tasks: int = 0
    """Staff tasks opened (advisor check-ins, win-back call-backs)."""
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class Simulation:
    """What the playbook would have done over the span."""

    start: date
    end: date
    customers: int
    rules: dict[str, RuleTally]
    marketing_at: dict[int, list[datetime]] = field(default_factory=dict)
    """Per customer, the moments of the marketing messages sent in the simulation."""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def max_marketing_in_window(self) -> int:
        """The most marketing messages one customer gets within any :data:`MARKETING_WINDOW`."""
        return max(
            (most_within(m, MARKETING_WINDOW) for m in self.marketing_at.values()), default=0
        )

    def as_json(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "days": self.days,
            "customers": self.customers,
            "rules": {
                rule_id: {
                    "kind": "marketing" if tally.marketing else "service",
                    "sent": tally.sent,
                    "tasks": tally.tasks,
                    "skipped": dict(sorted(tally.skipped.items())),
                }
                for rule_id, tally in self.rules.items()
            },
            "max_marketing_in_7_days": self.max_marketing_in_window,
        }


def most_within(moments: Sequence[datetime], window: timedelta) -> int:
    """The most of `moments` that fall within any span shorter than `window`."""
    ordered = sorted(moments)
    best = first = 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def order_as_of(order: OrderFact, now: datetime) -> OrderFact | None:
    """The order as it stood at `now` (see the module docstring), None before it existed."""
    if order.created_at > now:
        return None
    status = order.status
    if status in (OrderStatus.PAID, OrderStatus.DELIVERED):
        delivered = order.delivered_at is not None and order.delivered_at <= now
        paid = order.paid_at is not None and order.paid_at <= now
        if status is OrderStatus.DELIVERED and delivered:
            return order
        if paid:
            return replace(order, status=OrderStatus.PAID, delivered_at=None)
        return replace(order, status=OrderStatus.PENDING, paid_at=None, delivered_at=None)
    return order


def orders_as_of(orders: Sequence[OrderFact], now: datetime) -> tuple[OrderFact, ...]:
    """The orders that existed at `now`, each as it stood then."""
    return tuple(o for o in (order_as_of(o, now) for o in orders) if o is not None)


Standing = tuple[Tier, Lifecycle, Segment | None]
PaidDays = tuple[tuple[date, int], ...]
"""A customer's paid orders as (day paid, amount in cents): what their standing is made of."""


def paid_days(orders: Sequence[OrderFact]) -> PaidDays:
    """The day each paid or delivered order of `orders` was paid (the day of ``paid_at``, else
    of ``created_at``) with its amount."""
    return tuple(
        ((o.paid_at or o.created_at).astimezone(UTC).date(), o.amount_cents)
        for o in orders
        if o.status.counts_as_paid
    )


def standings(
    customers: Mapping[int, Sequence[OrderFact]], day: date, policy: TierPolicy
) -> dict[int, Standing]:
    """Tier, lifecycle stage and RF segment of each customer (id → orders) on `day`, from
    their orders
    (paid or delivered; the day of ``paid_at``, else of ``created_at``), as the nightly
    recompute would find them."""
    return standings_of_paid({c: paid_days(o) for c, o in customers.items()}, day, policy)


def standings_of_paid(
    customers: Mapping[int, PaidDays], day: date, policy: TierPolicy
) -> dict[int, Standing]:
    """:func:`standings` from each customer's :func:`paid_days` (id → paid days), which the
    simulation keeps from day to day and recomputes only when an order changes."""
    from bot.core.tiers import assign_tiers_arrays  # numpy: loaded when first simulated

    start = window_start(day, policy)
    ids, recency, frequency, monetary, first_days = [], [], [], [], []
    for customer_id in sorted(customers):
        paid = customers[customer_id]
        in_window = [cents for d, cents in paid if start <= d <= day]
        ids.append(customer_id)
        recency.append((day - max(d for d, _ in paid)).days if paid else -1)
        first_days.append((day - min(d for d, _ in paid)).days if paid else -1)
        frequency.append(len(in_window))
        monetary.append(sum(in_window))
    if not ids:
        return {}
    arrays = assign_tiers_arrays(
        ids, recency, frequency, monetary, policy, first_paid_days=first_days
    )
    assert arrays.lifecycle is not None
    out: dict[int, Standing] = {}
    for n, customer_id in enumerate(ids):
        segment_code = int(arrays.segment[n])
        out[customer_id] = (
            TIERS_BY_CODE[int(arrays.tier[n])],
            LIFECYCLES_BY_CODE[int(arrays.lifecycle[n])],
            SEGMENTS_BY_CODE[segment_code] if segment_code >= 0 else None,
        )
    return out


def facts_as_of(
    facts: CustomerFacts,
    now: datetime,
    orders: tuple[OrderFact, ...],
    standing: Standing,
    tier_changed_on: date | None,
    sent: Sequence[SentEngagement],
) -> CustomerFacts:
    """`facts` as they stood at `now`, with the `orders` as they stood then
    (:func:`orders_as_of`), the day's `standing` and the messages `sent` so far (stored and
    simulated)."""
    tier, stage, segment = standing
    return replace(
        facts,
        orders=orders,
        tier=tier,
        stage=stage,
        segment=segment,
        complaints=tuple(at for at in facts.complaints if at <= now),
        ratings=tuple((at, s) for at, s in facts.ratings if at <= now),
        resolved_tickets=tuple((t, at) for t, at in facts.resolved_tickets if at <= now),
        tier_changed_on=tier_changed_on,
        sent=tuple(sent),
    )


def moments_of(facts: CustomerFacts) -> list[datetime]:
    """Every moment at which the customer's facts as of a moment change (an order created,
    paid or delivered; a complaint, rating or resolved ticket), in order: between two of
    them, :func:`orders_as_of` and :func:`facts_as_of` give the same answer."""
    moments = [o.created_at for o in facts.orders]
    moments += [o.paid_at for o in facts.orders if o.paid_at is not None]
    moments += [o.delivered_at for o in facts.orders if o.delivered_at is not None]
    moments += list(facts.complaints)
    moments += [at for at, _ in facts.ratings]
    moments += [at for _, at in facts.resolved_tickets]
    return sorted(moments)


@dataclass(slots=True)
class Track:
    """One customer followed through the simulated days. What does not change from one day to
    the next is kept: the orders and paid days are recomputed only when one of the customer's
    :func:`moments_of` has passed, the day's facts only when something in them changed, and
    the :class:`Ledger` of what was sent grows with each message instead of being rebuilt
    from every message every day."""

    facts: CustomerFacts
    ledger: Ledger
    moments: list[datetime]
    sent: list[SentEngagement]
    tier_changed_on: date | None
    passed: int = -1
    """How many of `moments` had passed at the last recompute (-1: never computed)."""
    visible: tuple[OrderFact, ...] = ()
    paid: PaidDays = ()
    standing: Standing | None = None
    sliced: CustomerFacts | None = None

    def advance(self, now: datetime) -> None:
        """Brings the visible orders and paid days to `now`; forgets the day's facts when
        something in them changed."""
        passed = bisect_right(self.moments, now)
        if passed != self.passed:
            self.passed = passed
            self.visible = orders_as_of(self.facts.orders, now)
            self.paid = paid_days(self.visible)
            self.sliced = None

    def stand(self, day: date, standing: Standing) -> None:
        """The day's standing; a tier that differs from the day before's sets
        ``tier_changed_on``."""
        if standing != self.standing:
            if self.standing is not None and self.standing[0] is not standing[0]:
                self.tier_changed_on = day
            self.standing = standing
            self.sliced = None

    def facts_at(self, now: datetime) -> CustomerFacts:
        """The customer's facts at `now` (:func:`facts_as_of`), reused while unchanged."""
        if self.sliced is None:
            assert self.standing is not None
            self.sliced = facts_as_of(
                self.facts, now, self.visible, self.standing, self.tier_changed_on, self.sent
            )
        return self.sliced

    def send(self, planned: Planned) -> None:
        """A message of the simulation sent: later days see it."""
        self.sent.append(SentEngagement(planned.key, planned.not_before))
        self.ledger.add(planned)
        self.sliced = None


def simulate(
    playbook: Playbook,
    customers: Sequence[CustomerFacts],
    start: date,
    end: date,
    *,
    policy: EngagementPolicy,
    context: Context,
    tier_policy: TierPolicy,
    run_at: time,
    wordable: Callable[[Planned], bool],
) -> Simulation:
    """Runs the playbook once a day at `run_at` (UTC) from `start` to `end`, both included
    (see the module docstring). Raises ValueError when `end` is before `start`.

    Each day costs one :func:`evaluate` over every customer; what stays the same between
    days is carried over (:class:`Track`), so the result is the one a fresh evaluation of
    each day's :func:`facts_as_of` would give."""
    if end < start:
        raise ValueError(f"the span ends ({end}) before it starts ({start})")
    result = Simulation(
        start, end, len(customers), {r.id: RuleTally(r.is_marketing) for r in playbook.rules}
    )
    tracks = {
        f.customer_id: Track(
            f, Ledger.of(playbook, f), moments_of(f), list(f.sent), f.tier_changed_on
        )
        for f in customers
    }
    day = start
    while day <= end:
        now = datetime.combine(day, run_at, tzinfo=UTC)
        for track in tracks.values():
            track.advance(now)
        today = standings_of_paid({c: t.paid for c, t in tracks.items()}, day, tier_policy)
        for customer_id, standing in today.items():
            tracks[customer_id].stand(day, standing)
        sliced = [tracks[f.customer_id].facts_at(now) for f in customers]
        # each day plans on a copy: what it planned but could not word is not kept
        ledgers = {c: t.ledger.copy() for c, t in tracks.items()}
        for rule_result in evaluate(playbook, sliced, now, policy, context, ledgers=ledgers):
            tally = result.rules[rule_result.rule_id]
            tally.skipped.update(s.reason.value for s in rule_result.skipped)
            for planned in rule_result.planned:
                if not wordable(planned):
                    tally.skipped[UNRENDERED] += 1
                    continue
                tally.sent += 1
                tally.tasks += planned.task is not None
                tracks[planned.customer_id].send(planned)
                if planned.marketing and not planned.deferred:
                    result.marketing_at.setdefault(planned.customer_id, []).append(
                        planned.not_before
                    )
        day += timedelta(days=1)
    return result
