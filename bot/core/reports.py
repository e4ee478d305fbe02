"""The monthly complaint review (SPEC §6), computed from tickets as pure functions.

It lists complaints by severity and category, SLA compliance, time to first response and to
resolution, top causes, repeat complainers and satisfaction (the ratings customers gave the
month's tickets, passed in). A target counts as met when the response (or
resolution) came by its deadline, as missed when it came later or is still missing after the
deadline, and is left out while it is still running.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.ratings import Rating
from bot.core.tickets import Ticket, TicketKind


@dataclass(frozen=True, slots=True)
class Compliance:
    met: int
    missed: int

    @property
    def rate(self) -> float | None:
        total = self.met + self.missed
        return None if total == 0 else self.met / total


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """How customers rated the tickets (1–5): `high` counts 4s and 5s, `low` the ratings that
    reopen a ticket (2 or less by default)."""

    ratings: int = 0
    average: float | None = None
    high: int = 0
    low: int = 0

    @property
    def high_share(self) -> float | None:
        return None if self.ratings == 0 else self.high / self.ratings


def satisfaction(ratings: Sequence[Rating], low_at_most: int = 2) -> Satisfaction:
    scores = [r.score for r in ratings]
    if not scores:
        return Satisfaction()
    return Satisfaction(
        ratings=len(scores),
        average=statistics.fmean(scores),
        high=sum(1 for s in scores if s >= 4),
        low=sum(1 for s in scores if s <= low_at_most),
    )


@dataclass(frozen=True, slots=True)
class ComplaintReview:
    month: str
    total: int
    by_severity: dict[str, int]
    by_category: dict[str, int]
    first_response: Compliance
    resolution: Compliance
    median_first_response_hours: float | None
    median_resolution_hours: float | None
    top_causes: list[tuple[str, int]] = field(default_factory=list)
    repeat_complainers: int = 0
    repeat_contacts: int = 0
    satisfaction: Satisfaction = field(default_factory=Satisfaction)

    def rows(self) -> list[tuple[str, str]]:
        """The review as (measure, value) rows, for a table or CSV."""

        def pct(c: Compliance) -> str:
            return "—" if c.rate is None else f"{c.rate:.0%} ({c.met}/{c.met + c.missed})"

        def hours(h: float | None) -> str:
            return "—" if h is None else f"{h:.1f} h"

        rows = [("month", self.month), ("complaints", str(self.total))]
        rows += [(f"severity: {k}", str(v)) for k, v in self.by_severity.items()]
        rows += [(f"category: {k}", str(v)) for k, v in self.by_category.items()]
        rows += [
            ("first response within target", pct(self.first_response)),
            ("resolution within target", pct(self.resolution)),
            ("median time to first response", hours(self.median_first_response_hours)),
            ("median time to resolution", hours(self.median_resolution_hours)),
        ]
        rows += [(f"top cause: {term}", str(n)) for term, n in self.top_causes]
        rows += [
            ("repeat complainers (2+ complaints)", str(self.repeat_complainers)),
            ("tickets with repeat contacts", str(self.repeat_contacts)),
        ]
        sat = self.satisfaction
        share = (
            "—" if sat.high_share is None else f"{sat.high_share:.0%} ({sat.high}/{sat.ratings})"
        )
        rows += [
            ("satisfaction: ratings", str(sat.ratings)),
            ("satisfaction: average score", "—" if sat.average is None else f"{sat.average:.2f}"),
            ("satisfaction: rated 4–5", share),
            ("satisfaction: rated low (reopened)", str(sat.low)),
        ]
        return rows


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``"2026-11"`` → (2026-11-01 00:00 UTC, 2026-12-01 00:00 UTC); ValueError otherwise."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"month {month!r}: expected YYYY-MM, e.g. 2026-11") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _compliance(
    done: Sequence[datetime | None], due: Sequence[datetime], now: datetime
) -> Compliance:
    met = missed = 0
    for finished, deadline in zip(done, due, strict=True):
        if finished is not None:
            met, missed = (met + 1, missed) if finished <= deadline else (met, missed + 1)
        elif now > deadline:
            missed += 1
    return Compliance(met, missed)


def _median_hours(spans: list[timedelta]) -> float | None:
    return statistics.median(s.total_seconds() / 3600 for s in spans) if spans else None


def complaint_review(
    tickets: Sequence[Ticket],
    month: str,
    now: datetime,
    top: int = 5,
    ratings: Sequence[Rating] = (),
    low_at_most: int = 2,
) -> ComplaintReview:
    """The review of `tickets` (those created in `month`); `ratings` are the ratings of those
    tickets (of every kind: an enquiry handed to a person is rated too)."""
    complaints = [t for t in tickets if t.kind is TicketKind.COMPLAINT]
    severity = Counter(t.severity.value for t in complaints)
    category = Counter(t.category or "other" for t in complaints)
    causes = Counter(term for t in complaints for term in set(t.signals))
    per_customer = Counter(t.customer_id for t in complaints)
    return ComplaintReview(
        month=month,
        total=len(complaints),
        by_severity={k: severity.get(k, 0) for k in ("general", "quality", "major")},
        by_category=dict(category.most_common()),
        first_response=_compliance(
            [t.first_response_at for t in complaints],
            [t.first_response_due_at for t in complaints],
            now,
        ),
        resolution=_compliance(
            [t.resolved_at for t in complaints], [t.resolution_due_at for t in complaints], now
        ),
        median_first_response_hours=_median_hours(
            [t.first_response_at - t.created_at for t in complaints if t.first_response_at]
        ),
        median_resolution_hours=_median_hours(
            [t.resolved_at - t.created_at for t in complaints if t.resolved_at]
        ),
        top_causes=causes.most_common(top),
        repeat_complainers=sum(1 for n in per_customer.values() if n >= 2),
        repeat_contacts=sum(1 for t in complaints if t.contacts >= 2),
        satisfaction=satisfaction(ratings, low_at_most),
    )
