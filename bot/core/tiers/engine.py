"""The scoring engine: :func:`assign_tiers_arrays` turns per-customer R, F, M arrays into quintile
scores, tiers, RF segments and lifecycle codes (rules in :mod:`bot.core.tiers`).

Vectorised with numpy because the nightly job scores every customer at once: radix sorts for R
and F, SIMD quicksorts for M, and the split cut from one packed int64 key with ``np.partition``
instead of a full sort (stable ``lexsort`` fallback for keys wider than 63 bits). The per-customer
reference that the unit tests hold this engine to is ``tests/tiers_reference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.core.tiers.rules import (
    DEFAULT_POLICY,
    LIFECYCLES_BY_CODE,
    SCORE_BANDS,
    SEGMENTS_BY_CODE,
    TIERS_BY_CODE,
    Lifecycle,
    Tier,
    TierPolicy,
    rf_segment,
)

__all__ = ["TierArrays", "assign_tiers_arrays", "lifecycle_codes"]

IntArray = npt.NDArray[np.int64]
SmallIntArray = npt.NDArray[np.int8]
FloatArray = npt.NDArray[np.float64]

_HIGH, _MID, _BASE, _PROSPECT = (
    TIERS_BY_CODE.index(tier) for tier in (Tier.HIGH, Tier.MID, Tier.BASE, Tier.PROSPECT)
)
_NO_SEGMENT = -1

# Lookup table: _SEGMENT_LUT[r, f] is a code into SEGMENTS_BY_CODE (-1 outside 1..5).
_SEGMENT_LUT = np.full((SCORE_BANDS + 1, SCORE_BANDS + 1), _NO_SEGMENT, dtype=np.int8)
for _r in range(1, SCORE_BANDS + 1):
    for _f in range(1, SCORE_BANDS + 1):
        _SEGMENT_LUT[_r, _f] = SEGMENTS_BY_CODE.index(rf_segment(_r, _f))


@dataclass(frozen=True, slots=True)
class TierArrays:
    """The array path's result, aligned with its input. Scores are 0, ``segment`` is -1 and
    ``tier`` is the prospect code for tier prospects; codes index ``TIERS_BY_CODE``,
    ``SEGMENTS_BY_CODE`` and ``LIFECYCLES_BY_CODE``. ``lifecycle`` is None when no first-paid
    days were given."""

    customer_ids: IntArray
    recency_days: IntArray
    frequency: IntArray
    monetary: FloatArray
    r_score: SmallIntArray
    f_score: SmallIntArray
    m_score: SmallIntArray
    tier: SmallIntArray
    segment: SmallIntArray
    lifecycle: SmallIntArray | None


def _quintile_codes(n: int) -> SmallIntArray:
    """Quintiles for positions 1…n: ``max(1, ceil(5 * (p - 1) / (n - 1)))``, 3 when n = 1."""
    if n == 1:
        return np.full(1, (SCORE_BANDS + 1) // 2, dtype=np.int8)
    steps = np.arange(n, dtype=np.int64) * SCORE_BANDS
    q = -(-steps // max(n - 1, 1))
    return np.maximum(q, 1).astype(np.int8)


def _narrow(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Small non-negative integers as int16 so numpy's stable sort becomes a radix sort."""
    if values.dtype.kind in "iu" and values.size and int(values.max()) < 2**15:
        return values.astype(np.int16)
    return values


def _scores(values: npt.NDArray[Any], bands: SmallIntArray) -> SmallIntArray:
    """Quintile of each element; ``values`` must already be in customer-id order, so the stable
    sort breaks ties by customer id."""
    order = np.argsort(_narrow(values), kind="stable")
    out = np.empty(values.size, dtype=np.int8)
    out[order] = bands
    return out


def _dense_ranks(values: FloatArray) -> IntArray:
    """0-based dense rank of each value (equal values share a rank)."""
    order = np.argsort(values)  # unstable but SIMD-fast; ties are resolved by the caller
    ordered = values[order]
    dense = np.empty(values.size, dtype=np.int64)
    dense[order] = np.concatenate(([0], np.cumsum(ordered[1:] != ordered[:-1])))
    return dense


#: Widest packed ranking key :func:`_tier_codes` may build (a test lowers it to force lexsort).
_PACKED_KEY_BITS = 63


def _tier_codes(
    combined: SmallIntArray,
    monetary: FloatArray,
    monetary_dense: IntArray,
    recency: IntArray,
    policy: TierPolicy,
) -> SmallIntArray:
    """Tier codes for tiered customers given in customer-id order (see the module docstring).

    Fast path: pack (combined desc, M dense rank desc, R asc, position) into one unique int64
    and cut the top and bottom with ``np.partition`` (no full sort). If the key needs more than
    63 bits, fall back to a stable ``lexsort``. Both produce the same tiers.
    """
    n = combined.size
    high, _mid, base = policy.split_counts(n)
    tier = np.full(n, _MID, dtype=np.int8)
    dense = monetary_dense
    max_dense = int(dense.max())
    bits_m, bits_r, bits_i = (
        max_dense.bit_length(),
        (policy.window_days - 1).bit_length(),
        (n - 1).bit_length(),
    )
    max_combined = 3 * SCORE_BANDS
    if 4 + bits_m + bits_r + bits_i > _PACKED_KEY_BITS:
        ranking = np.lexsort((recency, -monetary, -combined))  # stable: ties stay in id order
        tier[ranking[:high]] = _HIGH
        tier[ranking[n - base :]] = _BASE
        return tier
    key = (max_combined - combined.astype(np.int64)) << (bits_m + bits_r + bits_i)
    key |= (max_dense - dense) << (bits_r + bits_i)
    key |= recency.astype(np.int64) << bits_i
    key |= np.arange(n, dtype=np.int64)
    kth = [k for k in (high - 1, n - base) if 0 <= k < n]
    cut = np.partition(key, kth) if kth else key
    if high:
        tier[key <= cut[high - 1]] = _HIGH
    if base:
        tier[key >= cut[n - base]] = _BASE
    return tier


def _scores_from_dense(dense: IntArray, bands: SmallIntArray) -> SmallIntArray:
    """Like :func:`_scores`, from dense ranks (two fast unstable sorts beat one stable float
    sort)."""
    n = dense.size
    key = dense * n + np.arange(n, dtype=np.int64)  # unique; ties by position, i.e. by id
    out = np.empty(n, dtype=np.int8)
    out[np.argsort(key)] = bands
    return out


def lifecycle_codes(
    recency_days: npt.ArrayLike,
    first_paid_days: npt.ArrayLike,
    policy: TierPolicy = DEFAULT_POLICY,
) -> SmallIntArray:
    """Vectorised lifecycle stages (codes into ``LIFECYCLES_BY_CODE``); -1 days = never paid."""
    last = np.asarray(recency_days, dtype=np.int64)
    first = np.asarray(first_paid_days, dtype=np.int64)
    conditions = [
        (last < 0) | (first < 0),
        first <= policy.new_days,
        last <= policy.active_days,
        last <= policy.dormant_days,
    ]
    stages = [LIFECYCLES_BY_CODE.index(stage) for stage in Lifecycle]
    codes = np.select(conditions, stages[:4], default=stages[4])
    return codes.astype(np.int8)


def assign_tiers_arrays(
    customer_ids: npt.ArrayLike,
    recency_days: npt.ArrayLike,
    frequency: npt.ArrayLike,
    monetary: npt.ArrayLike,
    policy: TierPolicy = DEFAULT_POLICY,
    *,
    first_paid_days: npt.ArrayLike | None = None,
) -> TierArrays:
    """Vectorised :func:`assign_tiers`: same rules, same results, aligned with the input.

    ``recency_days``: days since the last paid order at any time, negative when never paid;
    ``frequency``/``monetary``: F and M in the window (F = 0 means tier prospect);
    ``first_paid_days`` (optional): days since the first paid order, for lifecycle codes.
    """
    ids = np.asarray(customer_ids, dtype=np.int64)
    rec = np.asarray(recency_days, dtype=np.int64)
    freq = np.asarray(frequency, dtype=np.int64)
    mon = np.asarray(monetary, dtype=np.float64)
    size = ids.size
    if not (rec.shape == freq.shape == mon.shape == ids.shape) or ids.ndim != 1:
        raise ValueError("customer_ids, recency_days, frequency and monetary must be 1-d, aligned")
    if size and ((freq < 0).any() or not (mon >= 0).all() or np.isinf(mon).any()):
        raise ValueError("frequency and monetary must be non-negative numbers")
    ids_sorted = bool(size < 2 or (ids[1:] > ids[:-1]).all())
    if not ids_sorted and np.unique(ids).size != size:
        raise ValueError("duplicate customer ids")
    tiered_mask = freq > 0
    if ((rec[tiered_mask] < 0) | (rec[tiered_mask] >= policy.window_days)).any():
        raise ValueError(
            "customers with paid orders in the window whose last paid order is outside it "
            "(stale aggregates: was the window rolled to as_of?)"
        )

    idx = np.flatnonzero(tiered_mask)
    if not ids_sorted:
        idx = idx[np.argsort(ids[idx], kind="stable")]
    n = idx.size
    t_rec, t_freq, t_mon = rec[idx], freq[idx], mon[idx]

    r_score = np.zeros(size, dtype=np.int8)
    f_score = np.zeros(size, dtype=np.int8)
    m_score = np.zeros(size, dtype=np.int8)
    tier = np.full(size, _PROSPECT, dtype=np.int8)
    segment = np.full(size, _NO_SEGMENT, dtype=np.int8)
    if n:
        bands = _quintile_codes(n)
        t_r = (SCORE_BANDS + 1 - _scores(t_rec, bands)).astype(np.int8)
        t_f = _scores(t_freq, bands)
        m_dense = _dense_ranks(t_mon + 0.0)  # + 0.0 turns -0.0 into 0.0
        t_m = _scores_from_dense(m_dense, bands)
        combined = (t_r + t_f + t_m).astype(np.int8)
        t_tier = _tier_codes(combined, t_mon, m_dense, t_rec, policy)
        r_score[idx], f_score[idx], m_score[idx] = t_r, t_f, t_m
        tier[idx] = t_tier
        segment[idx] = _SEGMENT_LUT[t_r, t_f]

    lifecycle = None
    if first_paid_days is not None:
        first = np.asarray(first_paid_days, dtype=np.int64)
        if first.shape != ids.shape:
            raise ValueError("first_paid_days must be aligned with customer_ids")
        lifecycle = lifecycle_codes(rec, first, policy)
    return TierArrays(
        ids,
        np.where(rec < 0, -1, rec),
        freq,
        mon,
        r_score,
        f_score,
        m_score,
        tier,
        segment,
        lifecycle,
    )
