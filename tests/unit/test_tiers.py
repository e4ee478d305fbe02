"""The RFM engine (SPEC §3): hand-computed cases on the reference (tests/tiers_reference.py),
then the production engine against it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

import bot.core.tiers.engine as engine_module
from benchmarks.order_aggregates import aggregate_order_arrays
from bot.core.tiers import (
    RF_SEGMENT_RULES,
    Lifecycle,
    Segment,
    Tier,
    TierPolicy,
    assign_tiers_arrays,
    expired_days,
    rf_segment,
    window_start,
)
from tests.tiers_reference import (
    CustomerAggregate,
    aggregate_paid_orders,
    assign_tiers,
    assign_tiers_fast,
    days_since,
    lifecycle_stage,
    quintile,
    to_assignments,
)

AS_OF = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def agg(
    cid: int,
    recency: int | None,
    frequency: int,
    monetary: float | Decimal,
    first: int | None = None,
) -> CustomerAggregate:
    """An aggregate whose last paid order is ``recency`` days before AS_OF (None: never paid)."""
    if recency is None:
        return CustomerAggregate(cid, None, None, frequency, monetary)
    last_at = AS_OF - timedelta(days=recency)
    first_at = AS_OF - timedelta(days=first if first is not None else max(recency, 300))
    return CustomerAggregate(cid, last_at, first_at, frequency, monetary)


def by_id(assignments: list) -> dict:  # type: ignore[type-arg]
    return {a.customer_id: a for a in assignments}


# ------------------------------------------------------------------ quintiles


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [3]),
        (2, [1, 5]),
        (3, [1, 3, 5]),
        (5, [1, 2, 3, 4, 5]),
        (6, [1, 1, 2, 3, 4, 5]),
        (10, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ],
)
def test_quintile_of_position(n: int, expected: list[int]) -> None:
    assert [quintile(p, n) for p in range(1, n + 1)] == expected


def test_quintile_matches_pandas_qcut_on_first_ranks() -> None:
    pd = pytest.importorskip("pandas")
    for n in [*range(2, 130), 1001, 4999]:
        ranks = pd.Series(np.arange(1, n + 1, dtype=float))
        textbook = pd.qcut(ranks, 5, labels=[1, 2, 3, 4, 5]).astype(int).tolist()
        assert [quintile(p, n) for p in range(1, n + 1)] == textbook, n


def test_frequency_ties_are_split_by_customer_id() -> None:
    # F values 2,1,1,1,3 for ids 1..5: sorted by (F, id) -> ids 2,3,4,1,5 -> scores 1..5
    frequencies = {1: 2, 2: 1, 3: 1, 4: 1, 5: 3}
    result = by_id(assign_tiers([agg(i, 10, f, 100.0) for i, f in frequencies.items()], AS_OF))
    assert {cid: a.f_score for cid, a in result.items()} == {2: 1, 3: 2, 4: 3, 1: 4, 5: 5}


def test_recency_is_reversed_and_its_ties_favour_the_lower_id() -> None:
    # recency 10,10,5,20,0 for ids 1..5: ascending (0:id5)(5:id3)(10:id1)(10:id2)(20:id4)
    recencies = {1: 10, 2: 10, 3: 5, 4: 20, 5: 0}
    result = by_id(assign_tiers([agg(i, r, 1, 100.0) for i, r in recencies.items()], AS_OF))
    assert {cid: a.r_score for cid, a in result.items()} == {5: 5, 3: 4, 1: 3, 2: 2, 4: 1}


def test_monetary_accepts_decimal_and_float_alike() -> None:
    values: list[float | Decimal] = [Decimal("10.10"), 5.5, Decimal("99.99"), 0.0, Decimal("20")]
    result = by_id(assign_tiers([agg(i, 1, 1, v) for i, v in enumerate(values, 1)], AS_OF))
    assert {cid: a.m_score for cid, a in result.items()} == {4: 1, 2: 2, 1: 3, 5: 4, 3: 5}
    assert result[1].monetary == pytest.approx(10.10)


# ------------------------------------------------------------------ split


@pytest.mark.parametrize(
    ("n", "counts"),
    [
        (0, (0, 0, 0)),
        (1, (0, 1, 0)),
        (2, (0, 2, 0)),
        (3, (1, 1, 1)),
        (4, (1, 2, 1)),
        (5, (1, 3, 1)),
        (7, (1, 5, 1)),
        (10, (2, 6, 2)),
        (101, (20, 61, 20)),
    ],
)
def test_split_counts_are_exact(n: int, counts: tuple[int, int, int]) -> None:
    assert TierPolicy().split_counts(n) == counts
    rng = random.Random(n)
    aggregates = [
        agg(i, rng.randrange(365), rng.randrange(1, 6), rng.randrange(1, 500)) for i in range(n)
    ]
    reference = assign_tiers(aggregates, AS_OF)
    tiers = Counter(a.tier for a in reference)
    assert (tiers[Tier.HIGH], tiers[Tier.MID], tiers[Tier.BASE]) == counts
    assert assign_tiers_fast(aggregates, AS_OF) == reference


def test_split_shares_are_parameters_and_never_overlap() -> None:
    assert TierPolicy(high_share=0.25, base_share=0.1).split_counts(10) == (3, 6, 1)
    assert TierPolicy(high_share=0.5, base_share=0.5).split_counts(1) == (1, 0, 0)
    assert TierPolicy(high_share=0.5, base_share=0.5).split_counts(3) == (2, 0, 1)
    with pytest.raises(ValueError):
        TierPolicy(high_share=0.7, base_share=0.4)


def test_prospects_get_no_tier_and_do_not_count() -> None:
    paying = [agg(i, i * 10, 6 - i, (6 - i) * 100.0) for i in range(1, 6)]
    lapsed = agg(6, 400, 0, 0.0)  # paid long ago, nothing in the window
    never = agg(7, None, 0, 0.0)
    result = by_id(assign_tiers([*paying, lapsed, never], AS_OF))
    assert Counter(a.tier for a in result.values()) == {
        Tier.HIGH: 1,
        Tier.MID: 3,
        Tier.BASE: 1,
        Tier.PROSPECT: 2,
    }
    for cid in (6, 7):
        a = result[cid]
        assert (a.r_score, a.f_score, a.m_score, a.segment, a.combined_score) == (None,) * 5
    assert result[6].lifecycle is Lifecycle.CHURNED and result[6].recency_days == 400
    assert result[7].lifecycle is Lifecycle.PROSPECT and result[7].recency_days is None
    assert result[1].tier is Tier.HIGH and result[5].tier is Tier.BASE


# ------------------------------------------------------------------ ranking tie-breaks


def test_equal_combined_score_is_broken_by_monetary_first() -> None:
    # scores (R, F, M): A=(5,1,3) B=(3,5,1) C=(1,3,5): all 9; M raw C > A > B
    aggregates = [agg(1, 1, 1, 50.0), agg(2, 2, 3, 10.0), agg(3, 3, 2, 90.0)]
    result = by_id(assign_tiers(aggregates, AS_OF))
    assert {a.combined_score for a in result.values()} == {9}
    assert [result[c].tier for c in (3, 1, 2)] == [Tier.HIGH, Tier.MID, Tier.BASE]


def test_equal_score_and_monetary_is_broken_by_recency() -> None:
    # all M = 50 -> M scores 1,3,5 by id; R=(3,5,1), F=(5,1,3): all 9; recency B < A < C
    aggregates = [agg(1, 2, 3, 50.0), agg(2, 1, 1, 50.0), agg(3, 3, 2, 50.0)]
    result = by_id(assign_tiers(aggregates, AS_OF))
    assert {a.combined_score for a in result.values()} == {9}
    assert [result[c].tier for c in (2, 1, 3)] == [Tier.HIGH, Tier.MID, Tier.BASE]


def test_identical_customers_are_ranked_by_customer_id() -> None:
    # ten identical customers: R 5,5,4,4,3,3,2,2,1,1 and F, M 1,1,2,2,...,5,5 by id,
    # so combined 7,7,8,8,...,11,11: each pair tied on score, M and R -> lower id first
    policy = TierPolicy(high_share=0.1, base_share=0.1)
    result = by_id(assign_tiers([agg(i, 7, 2, 30.0) for i in range(1, 11)], AS_OF, policy))
    assert [result[i].combined_score for i in range(1, 11)] == [7, 7, 8, 8, 9, 9, 10, 10, 11, 11]
    assert [cid for cid, a in result.items() if a.tier is Tier.HIGH] == [9]
    assert [cid for cid, a in result.items() if a.tier is Tier.BASE] == [2]
    assert assign_tiers_fast([agg(i, 7, 2, 30.0) for i in range(1, 11)], AS_OF, policy) == list(
        result.values()
    )


# ------------------------------------------------------------------ segments


def test_every_rf_pair_maps_to_exactly_one_segment() -> None:
    cover = Counter((r, f) for _seg, rs, fs in RF_SEGMENT_RULES for r in rs for f in fs)
    assert set(cover) == {(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(cover.values()) == {1}
    assert {rf_segment(r, f) for r in range(1, 6) for f in range(1, 6)} == set(Segment)


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, Segment.CHAMPIONS),
        (5, 4, Segment.CHAMPIONS),
        (4, 4, Segment.LOYAL),
        (3, 5, Segment.LOYAL),
        (5, 2, Segment.POTENTIAL_LOYALIST),
        (4, 3, Segment.POTENTIAL_LOYALIST),
        (5, 1, Segment.NEW),
        (4, 1, Segment.PROMISING),
        (3, 3, Segment.NEED_ATTENTION),
        (3, 2, Segment.ABOUT_TO_SLEEP),
        (3, 1, Segment.ABOUT_TO_SLEEP),
        (2, 4, Segment.AT_RISK),
        (1, 3, Segment.AT_RISK),
        (1, 5, Segment.CANT_LOSE),
        (2, 5, Segment.CANT_LOSE),
        (1, 1, Segment.HIBERNATING),
        (2, 2, Segment.HIBERNATING),
    ],
)
def test_rf_segment_table(r: int, f: int, segment: Segment) -> None:
    assert rf_segment(r, f) is segment


@pytest.mark.parametrize(("r", "f"), [(0, 3), (6, 1), (3, 0)])
def test_rf_segment_rejects_scores_outside_1_to_5(r: int, f: int) -> None:
    with pytest.raises(ValueError):
        rf_segment(r, f)


# ------------------------------------------------------------------ lifecycle and days


@pytest.mark.parametrize(
    ("last_days", "first_days", "stage"),
    [
        (0, 0, Lifecycle.NEW),
        (5, 30, Lifecycle.NEW),
        (5, 31, Lifecycle.ACTIVE),
        (90, 400, Lifecycle.ACTIVE),
        (91, 400, Lifecycle.DORMANT),
        (180, 400, Lifecycle.DORMANT),
        (181, 400, Lifecycle.CHURNED),
        (30, 30, Lifecycle.NEW),
    ],
)
def test_lifecycle_boundaries(last_days: int, first_days: int, stage: Lifecycle) -> None:
    last_at = AS_OF - timedelta(days=last_days)
    first_at = AS_OF - timedelta(days=first_days)
    assert lifecycle_stage(last_at, first_at, AS_OF) is stage


def test_lifecycle_prospect_and_custom_thresholds() -> None:
    assert lifecycle_stage(None, None, AS_OF) is Lifecycle.PROSPECT
    policy = TierPolicy(new_days=7, active_days=30, dormant_days=60)
    ten = AS_OF - timedelta(days=10)
    assert lifecycle_stage(ten, ten, AS_OF, policy) is Lifecycle.ACTIVE
    forty = AS_OF - timedelta(days=40)
    assert lifecycle_stage(forty, forty, AS_OF, policy) is Lifecycle.DORMANT
    with pytest.raises(ValueError):
        lifecycle_stage(ten, None, AS_OF)


def test_days_are_utc_calendar_days() -> None:
    late_yesterday = datetime(2025, 6, 29, 23, 50, tzinfo=UTC)
    assert days_since(late_yesterday, datetime(2025, 6, 30, 0, 10, tzinfo=UTC)) == 1
    # 01:00 in UTC+8 on the 30th is still the 29th in UTC
    shanghai = timezone(timedelta(hours=8))
    assert days_since(late_yesterday, datetime(2025, 6, 30, 1, 0, tzinfo=shanghai)) == 0
    assert days_since(AS_OF + timedelta(hours=30), AS_OF) == 0  # clock skew counts as today


def test_window_bounds_and_expiry() -> None:
    assert window_start(date(2025, 12, 31)) == date(2025, 1, 1)
    assert window_start(AS_OF, TierPolicy(window_days=1)) == date(2025, 6, 30)
    assert expired_days(date(2025, 12, 31), date(2026, 1, 1)) == [date(2025, 1, 1)]
    assert len(expired_days(date(2025, 12, 28), date(2026, 1, 1))) == 4
    assert expired_days(date(2026, 1, 1), date(2026, 1, 1)) == []


def test_window_edge_in_aggregation() -> None:
    start = datetime(2024, 7, 1, 0, 0, tzinfo=UTC)  # window_start(AS_OF) is 2024-07-01
    orders = [(1, start, Decimal("5")), (1, start - timedelta(seconds=1), Decimal("7"))]
    [a] = aggregate_paid_orders(orders, AS_OF)
    assert (a.paid_orders_in_window, a.paid_amount_in_window) == (1, Decimal("5"))
    assert a.first_paid_at == start - timedelta(seconds=1)
    [t] = assign_tiers([a], AS_OF)
    assert t.recency_days == 364 and t.tier is Tier.MID


# ------------------------------------------------------------------ rejections


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 6, 30, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        assign_tiers([agg(1, 3, 1, 10.0)], naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        assign_tiers([CustomerAggregate(1, naive, naive, 1, 10.0)], AS_OF)
    with pytest.raises(ValueError, match="timezone-aware"):
        lifecycle_stage(naive, naive, AS_OF)


def test_inconsistent_aggregates_are_rejected() -> None:
    with pytest.raises(ValueError, match="stale"):
        assign_tiers([agg(1, 365, 2, 10.0)], AS_OF)  # orders "in the window", last one outside
    with pytest.raises(ValueError, match="duplicate"):
        assign_tiers([agg(1, 3, 1, 10.0), agg(1, 4, 1, 10.0)], AS_OF)
    with pytest.raises(ValueError):
        assign_tiers([agg(1, 3, 1, -1.0)], AS_OF)
    with pytest.raises(ValueError, match="stale"):
        assign_tiers_arrays([1], [365], [2], [10.0])
    with pytest.raises(ValueError, match="duplicate"):
        assign_tiers_arrays([2, 1, 2], [1, 1, 1], [1, 1, 1], [1.0, 1.0, 1.0])


# ------------------------------------------------------------------ the two paths agree


def random_population(seed: int, n: int) -> list[CustomerAggregate]:
    """Heavy ties on purpose: few distinct recencies, frequencies and amounts."""
    rng = random.Random(seed)
    out = []
    for cid in rng.sample(range(1, 10 * n), n):
        kind = rng.random()
        if kind < 0.1:
            out.append(agg(cid, None, 0, 0.0))
        elif kind < 0.2:
            out.append(agg(cid, rng.randrange(365, 900), 0, 0.0, first=1000))
        else:
            recency = rng.choice([0, 1, 2, 3, rng.randrange(365)])
            frequency = min(int(rng.paretovariate(1.5)), 60)
            unit = Decimal(rng.choice([9, 19, 49, 99, rng.randrange(1, 100000)])) / 100
            amount = unit * frequency
            first = recency + rng.choice([0, 10, 30, 31, rng.randrange(800)])
            out.append(agg(cid, recency, frequency, amount, first=first))
    return out


@pytest.mark.parametrize("policy", [TierPolicy(), TierPolicy(high_share=0.1, base_share=0.3)])
def test_reference_and_vectorised_paths_agree(policy: TierPolicy) -> None:
    population = random_population(seed=2025, n=5000)
    reference = assign_tiers(population, AS_OF, policy)
    assert assign_tiers_fast(population, AS_OF, policy) == reference
    tiers = Counter(a.tier for a in reference)
    n = sum(1 for a in reference if a.tier is not Tier.PROSPECT)
    high, mid, base = policy.split_counts(n)
    assert (tiers[Tier.HIGH], tiers[Tier.MID], tiers[Tier.BASE]) == (high, mid, base)
    # order of the input does not matter
    shuffled = population[::-1]
    assert sorted(assign_tiers(shuffled, AS_OF, policy), key=lambda a: a.customer_id) == sorted(
        reference, key=lambda a: a.customer_id
    )


def test_lexsort_fallback_gives_the_same_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    population = random_population(seed=7, n=2000)
    packed = assign_tiers_fast(population, AS_OF)
    monkeypatch.setattr(engine_module, "_PACKED_KEY_BITS", 0)
    assert assign_tiers_fast(population, AS_OF) == packed == assign_tiers(population, AS_OF)


def test_reference_and_vectorised_aggregation_agree() -> None:
    rng = np.random.default_rng(11)
    as_of_day = int(np.datetime64("2025-06-30", "D").astype(np.int64))
    customers = np.arange(100, 2100, 2)  # sparse ids, some never order
    n_orders = 20_000
    order_cust = rng.choice(customers[:-50], n_orders)
    order_days = as_of_day - rng.integers(-3, 800, n_orders)  # a few "future" orders too
    cents = rng.integers(100, 50_000, n_orders)
    arrays = aggregate_order_arrays(
        order_cust, order_days, cents / 100, as_of_day, customer_ids=customers
    )
    orders = [
        (int(c), EPOCH + timedelta(days=int(d), hours=9), Decimal(int(m)) / 100)
        for c, d, m in zip(order_cust, order_days, cents, strict=True)
    ]
    reference = aggregate_paid_orders(orders, AS_OF, customer_ids=customers.tolist())
    assert [a.customer_id for a in reference] == arrays.customer_ids.tolist()
    assert [a.paid_orders_in_window for a in reference] == arrays.frequency.tolist()
    assert np.allclose([float(a.paid_amount_in_window) for a in reference], arrays.monetary)
    fast = to_assignments(
        assign_tiers_arrays(
            arrays.customer_ids,
            arrays.recency_days,
            arrays.frequency,
            arrays.monetary,
            first_paid_days=arrays.first_paid_days,
        )
    )
    slow = assign_tiers(reference, AS_OF)
    assert [(a.tier, a.segment, a.lifecycle, a.recency_days) for a in fast] == [
        (a.tier, a.segment, a.lifecycle, a.recency_days) for a in slow
    ]
