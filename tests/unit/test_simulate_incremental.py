"""The simulation carries what does not change from one day to the next (orders, standings,
the ledger of what was sent: :class:`bot.core.engagement.simulate.Track`); these tests hold
it to a plain reference that rebuilds every customer's facts and ledger from scratch each
day, as the simulation did before, on customers whose orders, complaints, ratings and tickets
change during the span."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from bot.core.engagement.evaluate import Ledger, evaluate
from bot.core.engagement.facts import CustomerFacts, OrderFact, SentEngagement
from bot.core.engagement.simulate import (
    Track,
    facts_as_of,
    moments_of,
    orders_as_of,
    simulate,
    standings,
)
from bot.core.records import OrderStatus
from bot.core.tiers import TierPolicy
from tests.unit.test_engagement_evaluate import CONTEXT, PLAYBOOK, POLICY, customer

START = date(2025, 1, 1)
DAYS = 90
RUN_AT = time(10)


def moment(rng: random.Random) -> datetime:
    """A moment within the span or up to 60 days before it."""
    return datetime.combine(START, time(0), tzinfo=UTC) + timedelta(
        hours=rng.randrange(-60 * 24, DAYS * 24)
    )


def shoppers(count: int, seed: int = 7) -> list[CustomerFacts]:
    """Customers with orders paid, delivered, pending, refunded over the span; complaints,
    low ratings and resolved tickets on the way; some with birthdays and time zones."""
    rng = random.Random(seed)
    out = []
    for n in range(1, count + 1):
        orders = []
        for k in range(rng.randrange(0, 6)):
            created = moment(rng)
            status = rng.choice(list(OrderStatus))
            paid = created + timedelta(hours=rng.randrange(1, 72))
            delivered = paid + timedelta(days=rng.randrange(1, 9))
            orders.append(
                OrderFact(
                    f"O{n}-{k}",
                    status,
                    created,
                    amount_cents=rng.randrange(500, 90_000),
                    paid_at=paid if status.counts_as_paid else None,
                    delivered_at=delivered if status is OrderStatus.DELIVERED else None,
                )
            )
        out.append(
            customer(
                n,
                consent=rng.random() < 0.8,
                timezone=rng.choice([None, "Asia/Shanghai", "America/Los_Angeles"]),
                birthday=date(1990, rng.randrange(1, 13), rng.randrange(1, 29))
                if rng.random() < 0.5
                else None,
                orders=tuple(orders),
                complaints=tuple(moment(rng) for _ in range(rng.randrange(0, 2))),
                ratings=tuple((moment(rng), rng.randrange(1, 6)) for _ in range(2)),
                resolved_tickets=tuple((t, moment(rng)) for t in range(rng.randrange(0, 2))),
                sent=(SentEngagement(f"engage:prospect-welcome:{n}:once", moment(rng)),)
                if rng.random() < 0.3
                else (),
            )
        )
    return out


def reference(customers: list[CustomerFacts], wordable: bool) -> dict[str, Counter[str]]:
    """Every day rebuilt from scratch: orders, standings, facts and the evaluation's own
    ledgers (the simulation before it carried anything over)."""
    tally: dict[str, Counter[str]] = {r.id: Counter() for r in PLAYBOOK.rules}
    sent = {f.customer_id: list(f.sent) for f in customers}
    changed = {f.customer_id: f.tier_changed_on for f in customers}
    previous: dict[int, object] = {}
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        now = datetime.combine(day, RUN_AT, tzinfo=UTC)
        visible = {f.customer_id: orders_as_of(f.orders, now) for f in customers}
        today = standings(visible, day, TierPolicy())
        for cid, standing in today.items():
            if cid in previous and previous[cid] is not None:
                before = previous[cid]
                assert isinstance(before, tuple)
                if before[0] is not standing[0]:
                    changed[cid] = day
        previous = dict(today)
        sliced = [
            facts_as_of(
                f, now, visible[f.customer_id], today[f.customer_id], changed[f.customer_id],
                sent[f.customer_id],
            )
            for f in customers
        ]  # fmt: skip
        for result in evaluate(PLAYBOOK, sliced, now, POLICY, CONTEXT):
            counts = tally[result.rule_id]
            counts.update(s.reason.value for s in result.skipped)
            for planned in result.planned:
                if not (wordable or not planned.marketing):
                    counts["unrendered"] += 1
                    continue
                counts["sent"] += 1
                sent[planned.customer_id].append(SentEngagement(planned.key, planned.not_before))
    return tally


def carried(customers: list[CustomerFacts], wordable: bool) -> dict[str, Counter[str]]:
    result = simulate(
        PLAYBOOK,
        customers,
        START,
        START + timedelta(days=DAYS - 1),
        policy=POLICY,
        context=CONTEXT,
        tier_policy=TierPolicy(),
        run_at=RUN_AT,
        wordable=lambda planned: wordable or not planned.marketing,
    )
    return {
        rule: Counter({**tally.skipped, "sent": tally.sent}) + Counter()
        for rule, tally in result.rules.items()
    }


def test_carrying_days_over_gives_what_rebuilding_every_day_gives() -> None:
    customers = shoppers(25)
    for wordable in (True, False):
        expected = reference(customers, wordable)
        assert carried(customers, wordable) == {r: c + Counter() for r, c in expected.items()}
        assert sum(c["sent"] for c in expected.values()) > 20


def test_a_track_recomputes_when_a_moment_passes_and_only_then() -> None:
    paid = datetime(2025, 1, 5, 9, tzinfo=UTC)
    order = OrderFact("A", OrderStatus.PAID, paid - timedelta(days=1), paid, amount_cents=5000)
    facts = customer(1, orders=(order,))
    track = Track(facts, Ledger.of(PLAYBOOK, facts), moments_of(facts), [], None)
    track.advance(paid - timedelta(hours=1))
    pending = track.visible
    assert pending[0].status is OrderStatus.PENDING and not track.paid
    track.advance(paid - timedelta(minutes=1))
    assert track.visible is pending  # nothing passed: kept
    track.advance(paid)
    assert track.visible[0].status is OrderStatus.PAID
    assert track.paid == ((paid.date(), 5000),)
