"""The readable reference for the RFM engine (SPEC §3): the test oracle.

Plain Python sorting over one :class:`CustomerAggregate` per customer, written straight from the
definitions in :mod:`bot.core.tiers`. Production scores with the numpy engine
(:func:`bot.core.tiers.assign_tiers_arrays`); ``tests/unit/test_tiers.py`` proves both give
identical results, so a change to either must be made to both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from bot.core.tiers import (
    DEFAULT_POLICY,
    LIFECYCLES_BY_CODE,
    SCORE_BANDS,
    SEGMENTS_BY_CODE,
    TIERS_BY_CODE,
    Lifecycle,
    Tier,
    TierArrays,
    TierPolicy,
    assign_tiers_arrays,
    rf_segment,
    utc_date,
    window_start,
)
from bot.core.tiers.rules import Segment

__all__ = [
    "CustomerAggregate",
    "TierAssignment",
    "aggregate_paid_orders",
    "assign_tiers",
    "assign_tiers_fast",
    "days_since",
    "lifecycle_stage",
    "quintile",
    "to_assignments",
]


@dataclass(frozen=True, slots=True)
class CustomerAggregate:
    """What the storage keeps per customer so that tiering never rescans orders.

    ``first_paid_at``/``last_paid_at`` cover all paid orders ever (None when the customer never
    paid); ``paid_orders_in_window``/``paid_amount_in_window`` cover the trailing window ending at
    the ``as_of`` the aggregate is handed in with (see the module docstring for how the storage
    keeps them current). No separate "last paid in window" is needed: if F > 0, the last paid
    order is necessarily in the window.
    """

    customer_id: int
    last_paid_at: datetime | None
    first_paid_at: datetime | None
    paid_orders_in_window: int
    paid_amount_in_window: Decimal | float


@dataclass(frozen=True, slots=True)
class TierAssignment:
    """The engine's verdict for one customer.

    ``recency_days`` is days since the last paid order at any time (None if never paid); for a
    tiered customer it is R. ``frequency``/``monetary`` are F and M in the window. Scores and
    segment are None for tier prospects.
    """

    customer_id: int
    recency_days: int | None
    frequency: int
    monetary: float
    r_score: int | None
    f_score: int | None
    m_score: int | None
    tier: Tier
    segment: Segment | None
    lifecycle: Lifecycle

    @property
    def combined_score(self) -> int | None:
        """R + F + M, the primary ranking key; None for prospects."""
        if self.r_score is None or self.f_score is None or self.m_score is None:
            return None
        return self.r_score + self.f_score + self.m_score


def days_since(moment: datetime, as_of: datetime) -> int:
    """Whole UTC calendar days from ``moment`` to ``as_of``; 0 if ``moment`` is later."""
    return max(0, (utc_date(as_of, "as_of") - utc_date(moment, "paid_at")).days)


def quintile(position: int, n: int) -> int:
    """Quintile (1…5) of the 1-based ``position`` among ``n`` sorted customers.

    Equals ``pandas.qcut(rank, 5, labels=[1, 2, 3, 4, 5])`` for ranks 1…n; 3 when n = 1.
    """
    if not 1 <= position <= n:
        raise ValueError(f"position {position} outside 1..{n}")
    if n == 1:
        return (SCORE_BANDS + 1) // 2
    return max(1, -(-SCORE_BANDS * (position - 1) // (n - 1)))


def _lifecycle_from_days(
    last_days: int | None, first_days: int | None, policy: TierPolicy
) -> Lifecycle:
    if last_days is None or first_days is None:
        return Lifecycle.PROSPECT
    if first_days <= policy.new_days:
        return Lifecycle.NEW
    if last_days <= policy.active_days:
        return Lifecycle.ACTIVE
    if last_days <= policy.dormant_days:
        return Lifecycle.DORMANT
    return Lifecycle.CHURNED


def lifecycle_stage(
    last_paid_at: datetime | None,
    first_paid_at: datetime | None,
    as_of: datetime,
    policy: TierPolicy = DEFAULT_POLICY,
) -> Lifecycle:
    """Lifecycle stage from the last and first paid orders at any time (SPEC §3)."""
    utc_date(as_of, "as_of")
    if (last_paid_at is None) != (first_paid_at is None):
        raise ValueError("last_paid_at and first_paid_at must both be set or both be None")
    if last_paid_at is None or first_paid_at is None:
        return Lifecycle.PROSPECT
    return _lifecycle_from_days(
        days_since(last_paid_at, as_of), days_since(first_paid_at, as_of), policy
    )


@dataclass(slots=True)
class _Row:
    customer_id: int
    recency: int | None
    first_days: int | None
    frequency: int
    monetary: float


def _validated_row(agg: CustomerAggregate, as_of: datetime, policy: TierPolicy) -> _Row:
    cid = agg.customer_id
    if (agg.last_paid_at is None) != (agg.first_paid_at is None):
        raise ValueError(f"customer {cid}: last_paid_at and first_paid_at must both be set")
    recency = None if agg.last_paid_at is None else days_since(agg.last_paid_at, as_of)
    first = None if agg.first_paid_at is None else days_since(agg.first_paid_at, as_of)
    frequency = agg.paid_orders_in_window
    monetary = float(agg.paid_amount_in_window)
    if frequency < 0 or not monetary >= 0 or math.isinf(monetary):
        raise ValueError(f"customer {cid}: negative or invalid window figures")
    if frequency > 0 and (recency is None or recency >= policy.window_days):
        raise ValueError(
            f"customer {cid}: {frequency} paid orders in the window but the last paid order "
            "is outside it (stale aggregate: was the window rolled to as_of?)"
        )
    return _Row(cid, recency, first, frequency, monetary)


def _quintiles_by(rows: Sequence[_Row], key: Any) -> dict[int, int]:
    ordered = sorted(rows, key=key)
    n = len(ordered)
    return {row.customer_id: quintile(pos, n) for pos, row in enumerate(ordered, start=1)}


def assign_tiers(
    aggregates: Sequence[CustomerAggregate],
    as_of: datetime,
    policy: TierPolicy = DEFAULT_POLICY,
) -> list[TierAssignment]:
    """Tier, segment and lifecycle for every customer, in input order (readable reference path).

    Raises ``ValueError`` on naive datetimes, duplicate customer ids, negative figures or stale
    window aggregates.
    """
    utc_date(as_of, "as_of")
    rows = [_validated_row(agg, as_of, policy) for agg in aggregates]
    if len({row.customer_id for row in rows}) != len(rows):
        raise ValueError("duplicate customer ids")
    tiered = [row for row in rows if row.frequency > 0]
    r_q = _quintiles_by(tiered, key=lambda row: (row.recency, row.customer_id))
    f_q = _quintiles_by(tiered, key=lambda row: (row.frequency, row.customer_id))
    m_q = _quintiles_by(tiered, key=lambda row: (row.monetary, row.customer_id))
    r_score = {cid: SCORE_BANDS + 1 - q for cid, q in r_q.items()}

    def rank_key(row: _Row) -> tuple[int, float, int, int]:
        cid = row.customer_id
        combined = r_score[cid] + f_q[cid] + m_q[cid]
        return (-combined, -row.monetary, row.recency or 0, cid)

    ranking = sorted(tiered, key=rank_key)
    n = len(ranking)
    high, _mid, base = policy.split_counts(n)
    tier_of: dict[int, Tier] = {}
    for pos, row in enumerate(ranking):
        tier_of[row.customer_id] = (
            Tier.HIGH if pos < high else Tier.BASE if pos >= n - base else Tier.MID
        )

    result: list[TierAssignment] = []
    for row in rows:
        cid = row.customer_id
        lifecycle = _lifecycle_from_days(row.recency, row.first_days, policy)
        if row.frequency == 0:
            result.append(
                TierAssignment(
                    customer_id=cid,
                    recency_days=row.recency,
                    frequency=0,
                    monetary=row.monetary,
                    r_score=None,
                    f_score=None,
                    m_score=None,
                    tier=Tier.PROSPECT,
                    segment=None,
                    lifecycle=lifecycle,
                )
            )
            continue
        r, f, m = r_score[cid], f_q[cid], m_q[cid]
        result.append(
            TierAssignment(
                customer_id=cid,
                recency_days=row.recency,
                frequency=row.frequency,
                monetary=row.monetary,
                r_score=r,
                f_score=f,
                m_score=m,
                tier=tier_of[cid],
                segment=rf_segment(r, f),
                lifecycle=lifecycle,
            )
        )
    return result


def aggregate_paid_orders(
    orders: Iterable[tuple[int, datetime, Decimal | float]],
    as_of: datetime,
    policy: TierPolicy = DEFAULT_POLICY,
    customer_ids: Iterable[int] = (),
) -> list[CustomerAggregate]:
    """Aggregates from raw paid orders ``(customer_id, paid_at, amount)`` (reference, for fakes
    and audits). Orders paid after ``as_of``'s date are ignored; ``customer_ids`` adds customers
    without paid orders. Amounts are summed as ``Decimal``. Sorted by customer id."""
    as_of_day = utc_date(as_of, "as_of")
    start = window_start(as_of_day, policy)
    first: dict[int, datetime] = {}
    last: dict[int, datetime] = {}
    count: dict[int, int] = {}
    amount: dict[int, Decimal] = {}
    for cid in customer_ids:
        count.setdefault(cid, 0)
    for cid, paid_at, value in orders:
        day = utc_date(paid_at, "paid_at")
        if day > as_of_day:
            continue
        count.setdefault(cid, 0)
        if cid not in first or paid_at < first[cid]:
            first[cid] = paid_at
        if cid not in last or paid_at > last[cid]:
            last[cid] = paid_at
        if day >= start:
            count[cid] += 1
            money = value if isinstance(value, Decimal) else Decimal(str(value))
            amount[cid] = amount.get(cid, Decimal(0)) + money
    return [
        CustomerAggregate(
            cid, last.get(cid), first.get(cid), count[cid], amount.get(cid, Decimal(0))
        )
        for cid in sorted(count)
    ]


# --------------------------------------------------------------------------------------------
# The production engine, seen through the reference's types
# --------------------------------------------------------------------------------------------


def to_assignments(arrays: TierArrays) -> list[TierAssignment]:
    """The engine's result as :func:`assign_tiers` would give it (needs lifecycle codes)."""
    if arrays.lifecycle is None:
        raise ValueError("lifecycle codes are missing: pass first_paid_days")
    prospect = TIERS_BY_CODE.index(Tier.PROSPECT)
    out: list[TierAssignment] = []
    columns = zip(
        arrays.customer_ids.tolist(),
        arrays.recency_days.tolist(),
        arrays.frequency.tolist(),
        arrays.monetary.tolist(),
        arrays.r_score.tolist(),
        arrays.f_score.tolist(),
        arrays.m_score.tolist(),
        arrays.tier.tolist(),
        arrays.segment.tolist(),
        arrays.lifecycle.tolist(),
        strict=True,
    )
    for cid, rec, freq, mon, r, f, m, tier, seg, life in columns:
        tiered = tier != prospect
        out.append(
            TierAssignment(
                customer_id=cid,
                recency_days=rec if rec >= 0 else None,
                frequency=freq,
                monetary=mon,
                r_score=r if tiered else None,
                f_score=f if tiered else None,
                m_score=m if tiered else None,
                tier=TIERS_BY_CODE[tier],
                segment=SEGMENTS_BY_CODE[seg] if seg >= 0 else None,
                lifecycle=LIFECYCLES_BY_CODE[life],
            )
        )
    return out


def assign_tiers_fast(
    aggregates: Sequence[CustomerAggregate], as_of: datetime, policy: TierPolicy = DEFAULT_POLICY
) -> list[TierAssignment]:
    """:func:`assign_tiers` through the production engine (validated the same way)."""
    utc_date(as_of, "as_of")
    rows = [_validated_row(agg, as_of, policy) for agg in aggregates]
    arrays = assign_tiers_arrays(
        np.array([r.customer_id for r in rows], dtype=np.int64),
        np.array([-1 if r.recency is None else r.recency for r in rows], dtype=np.int64),
        np.array([r.frequency for r in rows], dtype=np.int64),
        np.array([r.monetary for r in rows], dtype=np.float64),
        policy,
        first_paid_days=np.array(
            [-1 if r.first_days is None else r.first_days for r in rows], dtype=np.int64
        ),
    )
    return to_assignments(arrays)
