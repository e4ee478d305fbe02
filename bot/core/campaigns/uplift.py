"""A campaign's report as pure functions: what became of every customer of the audience,
and whether the message made a difference.

**Counts.** Every frozen recipient lands in exactly one of: holdout, sent, failed (by
Telegram's reason), blocked (at decision time, or refused by Telegram with 403 / chat not
found), skipped for consent, skipped for the cap, unworded, cancelled, or waiting (not decided
yet, or in the outbox and not sent yet — held by the quiet hours, or paused). Their sum is the
audience (:attr:`CampaignReport.adds_up`). Held by the quiet hours is not a skip: ``held``
counts those messages and ``held_sent`` those of them already sent.

**Uplift.** The holdout is drawn at random from the whole audience, and the guards are asked
about holdout customers too (nothing is sent to them), so the comparison is like with like:
*treated* are the non-holdout customers the guards let through, *control* the holdout
customers the guards would have let through. For each, orders that count as paid created
within ``window_days`` from the moment the message went (or would have gone) out. Conversion
is the share with at least one such order; the uplift is the difference of the two shares
with a normal-approximation confidence interval (unpooled standard error). Revenue per
customer is compared as a difference of means with Welch's standard error
``sqrt(s1²/n1 + s2²/n2)`` (sample variances). No interval is given when a group is too small
(proportions: an empty group; means: fewer than 2).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist

from bot.core.campaigns.model import RecipientStatus
from bot.core.outbox_model import OutboxState


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    low: float
    high: float


def z_value(confidence: float) -> float:
    """The two-sided normal quantile: 1.959964 for 0.95."""
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def proportion_difference(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95
) -> Interval | None:
    """``x1/n1 - x2/n2`` with the normal approximation's interval (unpooled standard error);
    None when a group is empty."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    z = z_value(confidence)
    return Interval(d, d - z * se, d + z * se)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def mean_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> Interval | None:
    """``mean(a) - mean(b)`` with Welch's standard error and the normal quantile; None when a
    group has fewer than 2 values."""
    if len(a) < 2 or len(b) < 2:
        return None
    mean_a, var_a = _mean_var(a)
    mean_b, var_b = _mean_var(b)
    se = math.sqrt(var_a / len(a) + var_b / len(b))
    d = mean_a - mean_b
    z = z_value(confidence)
    return Interval(d, d - z * se, d + z * se)


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    """One frozen recipient as the report reads it: the recipient row and, when it was
    written to the outbox, that row's state and Telegram's reason."""

    customer_id: int
    holdout: bool
    status: RecipientStatus
    reason: str = ""
    held: bool = False
    at: datetime | None = None
    """When the message went (or would have gone) out: the guards' ``not_before``."""
    outbox_state: OutboxState | None = None
    outbox_error: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    customer_id: int
    created_at: datetime
    amount_cents: int
    paid: bool
    """Counts as paid (paid or delivered; not cancelled or refunded)."""


@dataclass(frozen=True, slots=True)
class Group:
    """Treated or control: customers, how many ordered, and each one's revenue (cents)."""

    customers: int
    converted: int
    revenue_cents: tuple[int, ...]

    @property
    def conversion(self) -> float | None:
        return self.converted / self.customers if self.customers else None

    @property
    def revenue_per_customer(self) -> float | None:
        return sum(self.revenue_cents) / self.customers if self.customers else None


@dataclass(slots=True)
class CampaignReport:
    audience: int = 0
    holdout: int = 0
    sent: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    blocked: Counter[str] = field(default_factory=Counter)
    skipped_consent: int = 0
    skipped_cap: int = 0
    unworded: int = 0
    cancelled: int = 0
    waiting: int = 0
    held: int = 0
    """Messages the quiet hours held (sent later, not skipped)."""
    held_sent: int = 0
    coupons_issued: int = 0
    coupons_redeemed: int = 0
    window_days: int = 14
    confidence: float = 0.95
    treated: Group = Group(0, 0, ())
    control: Group = Group(0, 0, ())
    conversion_uplift: Interval | None = None
    revenue_uplift_cents: Interval | None = None

    @property
    def adds_up(self) -> bool:
        """Whether the categories partition the audience exactly."""
        return self.audience == self.accounted

    @property
    def accounted(self) -> int:
        return (
            self.holdout
            + self.sent
            + sum(self.failed.values())
            + sum(self.blocked.values())
            + self.skipped_consent
            + self.skipped_cap
            + self.unworded
            + self.cancelled
            + self.waiting
        )


_TELEGRAM_BLOCKED = OutboxState.SKIPPED
"""The outbox skips a row when Telegram answers 403 or "chat not found"."""


def _count(report: CampaignReport, r: RecipientOutcome) -> None:
    if r.holdout:
        report.holdout += 1
        return
    status = r.status
    if status is RecipientStatus.QUEUED:
        report.held += r.held
        state = r.outbox_state
        if state is OutboxState.SENT:
            report.sent += 1
            report.held_sent += r.held
        elif state is OutboxState.FAILED:
            report.failed[r.outbox_error or "unknown"] += 1
        elif state is _TELEGRAM_BLOCKED:
            report.blocked[r.outbox_error or "blocked"] += 1
        else:
            report.waiting += 1
    elif status is RecipientStatus.UNREACHABLE:
        report.blocked[r.reason or "blocked"] += 1
    elif status is RecipientStatus.NO_CONSENT:
        report.skipped_consent += 1
    elif status is RecipientStatus.CAP:
        report.skipped_cap += 1
    elif status is RecipientStatus.UNWORDED:
        report.unworded += 1
    elif status is RecipientStatus.CANCELLED:
        report.cancelled += 1
    else:
        report.waiting += 1


def _group(
    members: list[RecipientOutcome], orders: dict[int, list[OrderRecord]], window: timedelta
) -> Group:
    revenue: list[int] = []
    for member in members:
        assert member.at is not None
        start, end = member.at, member.at + window
        spent = [
            o.amount_cents
            for o in orders.get(member.customer_id, ())
            if o.paid and start <= o.created_at < end
        ]
        revenue.append(sum(spent) if spent else -1)
    converted = sum(1 for r in revenue if r >= 0)
    return Group(len(members), converted, tuple(max(r, 0) for r in revenue))


def build_report(
    recipients: Iterable[RecipientOutcome],
    orders: Iterable[OrderRecord],
    *,
    window_days: int,
    confidence: float,
    coupons_issued: int = 0,
    coupons_redeemed: int = 0,
) -> CampaignReport:
    """The report over a campaign's frozen recipients (every run, or one) and the orders of
    those customers (see the module docstring)."""
    report = CampaignReport(
        window_days=window_days,
        confidence=confidence,
        coupons_issued=coupons_issued,
        coupons_redeemed=coupons_redeemed,
    )
    treated: list[RecipientOutcome] = []
    control: list[RecipientOutcome] = []
    for r in recipients:
        report.audience += 1
        _count(report, r)
        if r.at is None:
            continue
        if r.holdout and r.status is RecipientStatus.HOLDOUT and not r.reason:
            control.append(r)
        elif not r.holdout and r.status is RecipientStatus.QUEUED:
            treated.append(r)
    by_customer: dict[int, list[OrderRecord]] = {}
    for order in orders:
        by_customer.setdefault(order.customer_id, []).append(order)
    window = timedelta(days=window_days)
    report.treated = _group(treated, by_customer, window)
    report.control = _group(control, by_customer, window)
    t, c = report.treated, report.control
    report.conversion_uplift = proportion_difference(
        t.converted, t.customers, c.converted, c.customers, confidence
    )
    report.revenue_uplift_cents = mean_difference(
        [float(v) for v in t.revenue_cents], [float(v) for v in c.revenue_cents], confidence
    )
    return report
