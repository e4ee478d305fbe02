"""RFM value tiers, RF segments and lifecycle stages (SPEC §3) as pure functions.

The rulebook's arithmetic and nothing else: it reads per-customer aggregates and returns
assignments. It imports only the standard library and numpy; the storage layer feeds it
(``storage/tiers_recompute.py``), the tiers service stores the results and their history.

* :mod:`bot.core.tiers.rules` — the vocabulary (:class:`Tier`, :class:`Segment`,
  :class:`Lifecycle` and their integer codes), the SPEC's RF segment table, :class:`TierPolicy`
  (every number) and the calendar of the trailing window (:func:`window_start`,
  :func:`expired_days`).
* :mod:`bot.core.tiers.engine` — the scoring engine, :func:`assign_tiers_arrays`: quintile
  scores, ranking and split, segments and lifecycle codes over numpy arrays.

Definitions (every number is a field of :class:`TierPolicy`)
------------------------------------------------------------
*Days.* All times are timezone-aware (naive datetimes raise ``ValueError``) and are converted to
UTC. "Days since" an order is the difference of **UTC calendar dates**: an order paid at 23:50
yesterday is 1 day old at 00:10 today. An order stamped after ``as_of`` (a shop clock running a
little fast) counts as 0 days old. Calendar days, not elapsed 24-hour periods, so that the
storage can keep exact per-day buckets (see below).

*Window.* The trailing window holds the ``window_days`` UTC dates ending with ``as_of``'s date,
both ends included: with the default 365 the window of 2025-12-31 starts on 2025-01-01, and a
customer's recency inside it is 0…364.

*R, F, M.* R = days since the customer's last paid order, F = number of paid orders in the window,
M = total paid amount in the window (compared as float64; exact for cents up to 2**53).
Customers with F = 0 are **prospects** for tiering: no scores, no tier (``Tier.PROSPECT``), no
segment; their lifecycle stage is still computed (a customer whose last order is two years old has
tier ``prospect`` and lifecycle ``churned``).

*Quintile scores.* Rank-based quintiles, computed separately for R, F and M over the n tiered
customers. Sort the customers by the raw value ascending, ties by customer id ascending; the
customer at 1-based position p gets quintile ``q = max(1, ceil(5 * (p - 1) / (n - 1)))`` (and
``q = 3`` when n = 1). This is exactly ``pandas.qcut(x.rank(method="first"), 5, labels=[1..5])``
on rows ordered by customer id, written with integers so it has no floating-point edges. F and M
scores are q; the R score is ``6 - q`` (most recent = 5). Among equal raw values the lower customer
id therefore gets the lower F/M score and the higher R score. Ties are thus split
deterministically but arbitrarily; the alternative (equal values, equal scores) makes quintiles
badly uneven because F is mostly 1, 2 or 3.

*Ranking and split.* Tiered customers are ranked by combined score R+F+M descending, then raw M
descending, then raw R ascending (more recent first), then customer id ascending. With n tiered
customers: ``high = floor(high_share * n + 1/2)`` from the top,
``base = floor(base_share * n + 1/2)`` from the bottom (but never more than ``n - high``),
``mid = n - high - base``. The shares are read as exact decimals (``Fraction(str(share))``),
so the rounding is half-up with no binary floating-point surprise. For the default 0.2/0.2:
n = 1 → 0/1/0, 2 → 0/2/0, 3 → 1/1/1, 4 → 1/2/1, 5 → 1/3/1, 7 → 1/5/1, 10 → 2/6/2, 101 → 20/61/20.

*RF segments.* From (R score, F score) per SPEC; the SPEC table covers each of the 25 pairs exactly
once (checked when :mod:`~bot.core.tiers.rules` is imported), so no gap had to be filled.

*Lifecycle.* From all paid orders, not only the window, first match wins: prospect (never paid),
new (first paid order ≤ ``new_days`` days ago), active (last paid ≤ ``active_days``), dormant
(≤ ``dormant_days``), churned (older).

One engine, one oracle
----------------------
Production scores with the numpy engine only (radix sorts for R and F, SIMD quicksorts for M, and
the split cut from one packed int64 key with ``np.partition`` instead of a full sort; stable
``lexsort`` fallback for keys wider than 63 bits). 1M customers score in about 0.13 s on 2 CPUs
(``docs/performance.md``, "RFM tiers"). The readable per-customer reference written straight from
the definitions above is the unit tests' oracle and lives beside them
(``tests/tiers_reference.py``); the tests prove both give identical results. Building the arrays
straight from raw paid orders (``aggregate_order_arrays``) is the benchmark's and the storage
tests' business and lives in ``benchmarks/order_aggregates.py``.

Keeping the aggregates current (contract with the storage layer)
----------------------------------------------------------------
Re-tiering must never rescan orders. The window slides every day, so F and M change even when no
order arrives; the storage keeps two things:

1. ``customer_paid_day`` buckets: (customer_id, UTC day) → paid order count, paid amount, earliest
   and latest paid_at of that day. Updated in the same unit of work as the order import: +1/+amount
   when an order becomes paid, −1/−amount when a paid order is refunded or cancelled.
2. one running row per customer: first_paid_at, last_paid_at (any time), window_orders,
   window_amount, plus one global watermark ``window_through`` (the date the totals are valid
   for). Invariant: the totals equal the sum of that customer's buckets with
   ``day >= window_start(window_through)``. An arriving order adds to the totals when its day is
   on or after that start (late imports of old orders touch only the buckets and first/last).

The nightly job first *rolls* the window to today: for each date in
:func:`expired_days` (normally exactly one) it subtracts that day's buckets from the running totals
(``UPDATE … FROM customer_paid_day WHERE day = :d`` touches only the customers who bought that day)
and advances the watermark in the same transaction, which makes the roll idempotent and
catch-up-able after missed nights. Then it reads one row per customer, calls the engine and writes
the changed tiers to history. A refund of a customer's first or last paid order recomputes
first/last for that one customer from its buckets (or that day's orders). A periodic full rebuild
from the buckets audits the running totals. The engine checks what it can: a customer with F > 0
whose last paid order lies before the window is a stale aggregate and raises ``ValueError``
instead of being tiered silently wrong.
"""

from typing import TYPE_CHECKING, Any

from bot.core.tiers.rules import (
    DEFAULT_POLICY,
    LIFECYCLES_BY_CODE,
    RF_SEGMENT_RULES,
    SCORE_BANDS,
    SEGMENTS_BY_CODE,
    TIERS_BY_CODE,
    Lifecycle,
    Segment,
    Tier,
    TierPolicy,
    expired_days,
    rf_segment,
    utc_date,
    window_start,
)

if TYPE_CHECKING:
    from bot.core.tiers.engine import TierArrays, assign_tiers_arrays, lifecycle_codes

_ENGINE = frozenset({"TierArrays", "assign_tiers_arrays", "lifecycle_codes"})
"""Loaded on first use: the engine needs numpy, which the vocabulary's users (triage's
priority, the playbook) should not pay for at start-up."""


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        from bot.core.tiers import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_POLICY",
    "LIFECYCLES_BY_CODE",
    "RF_SEGMENT_RULES",
    "SCORE_BANDS",
    "SEGMENTS_BY_CODE",
    "TIERS_BY_CODE",
    "Lifecycle",
    "Segment",
    "Tier",
    "TierArrays",
    "TierPolicy",
    "assign_tiers_arrays",
    "expired_days",
    "lifecycle_codes",
    "rf_segment",
    "utc_date",
    "window_start",
]
