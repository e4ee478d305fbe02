"""Aggregates straight from raw paid orders, vectorised (one pass of ``bincount``/``ufunc.at``).

Not a production path: the storage keeps the RFM aggregates current incrementally as orders
arrive (the contract in :mod:`bot.core.tiers`), so re-tiering never rescans orders. This is the
"from raw orders" pipeline of :mod:`benchmarks.rfm` and the oracle the storage tests hold the
incrementally kept totals to. Should a periodic audit job ever rebuild the totals from the
orders, this function moves back into the core beside the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.core.tiers import DEFAULT_POLICY, TierPolicy

__all__ = ["AggregateArrays", "aggregate_order_arrays"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AggregateArrays:
    """Columnar aggregates, one element per customer (the array path's input).

    ``recency_days``/``first_paid_days``: days since the last/first paid order at any time, -1
    when the customer never paid. ``frequency``/``monetary``: F and M in the window.
    """

    customer_ids: IntArray
    recency_days: IntArray
    frequency: IntArray
    monetary: FloatArray
    first_paid_days: IntArray


def _customer_index(
    customer_ids: IntArray, order_customer_ids: IntArray
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Position of each order's customer in ``customer_ids`` and whether it was found."""
    n = customer_ids.size
    if n == 0:
        return np.zeros(order_customer_ids.size, np.int64), np.zeros(order_customer_ids.size, bool)
    low, high = int(customer_ids.min()), int(customer_ids.max())
    if high - low == n - 1 and (n == 1 or bool((customer_ids[1:] > customer_ids[:-1]).all())):
        pos = order_customer_ids - low  # ids low..high in order: the id is the position
        known = (pos >= 0) & (pos < n)
        return np.where(known, pos, 0), known
    if high - low < 4 * n + 1024:  # dense enough for a lookup table: O(orders), no search
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[customer_ids - low] = np.arange(n, dtype=np.int64)
        inside = (order_customer_ids >= low) & (order_customer_ids <= high)
        pos = np.full(order_customer_ids.size, -1, dtype=np.int64)
        pos[inside] = table[order_customer_ids[inside] - low]
        return np.maximum(pos, 0), pos >= 0
    order = np.argsort(customer_ids, kind="stable")
    sorted_ids = customer_ids[order]
    at = np.minimum(np.searchsorted(sorted_ids, order_customer_ids), n - 1)
    return order[at], sorted_ids[at] == order_customer_ids


def aggregate_order_arrays(
    order_customer_ids: npt.ArrayLike,
    order_paid_days: npt.ArrayLike,
    order_amounts: npt.ArrayLike,
    as_of_day: int,
    policy: TierPolicy = DEFAULT_POLICY,
    customer_ids: npt.ArrayLike | None = None,
) -> AggregateArrays:
    """Aggregates straight from raw **paid** orders, vectorised (full rebuilds, audits).

    Days are integer UTC day numbers (e.g. ``datetime64[D]`` as int: days since 1970-01-01);
    orders after ``as_of_day`` are ignored. ``customer_ids`` lists the customers to report
    (including those without orders); by default, those that appear in the orders. Orders of
    customers not listed are ignored.
    """
    cust = np.asarray(order_customer_ids, dtype=np.int64)
    days = np.asarray(order_paid_days, dtype=np.int64)
    amounts = np.asarray(order_amounts, dtype=np.float64)
    if not cust.shape == days.shape == amounts.shape:
        raise ValueError("order arrays must be aligned")
    ids = np.unique(cust) if customer_ids is None else np.asarray(customer_ids, dtype=np.int64)
    pos, known = _customer_index(ids, cust)
    keep = known & (days <= as_of_day)
    if not keep.all():
        pos, days, amounts = pos[keep], days[keep], amounts[keep]
    n = ids.size
    in_window = days >= as_of_day - policy.window_days + 1
    frequency = np.bincount(pos[in_window], minlength=n).astype(np.int64)
    monetary = np.bincount(pos[in_window], weights=amounts[in_window], minlength=n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, pos, days)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pos, days)
    paid = last != np.iinfo(np.int64).min
    return AggregateArrays(
        customer_ids=ids,
        recency_days=np.where(paid, as_of_day - last, -1),
        frequency=frequency,
        monetary=monetary.astype(np.float64),
        first_paid_days=np.where(paid, as_of_day - first, -1),
    )
