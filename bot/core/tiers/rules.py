"""The vocabulary and the numbers of SPEC §3: tiers, RF segments, lifecycle stages, the policy
and the calendar of the trailing window. The definitions are in :mod:`bot.core.tiers`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

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
    "TierPolicy",
    "expired_days",
    "rf_segment",
    "utc_date",
    "window_start",
]

#: Number of score bands (quintiles). Fixed by SPEC §3, deliberately not a policy field.
SCORE_BANDS = 5


class Tier(StrEnum):
    HIGH = "high"
    MID = "mid"
    BASE = "base"
    PROSPECT = "prospect"


class Lifecycle(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    ACTIVE = "active"
    DORMANT = "dormant"
    CHURNED = "churned"


class Segment(StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALIST = "potential_loyalist"
    NEW = "new"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"


#: Integer codes used by the array path: ``TIERS_BY_CODE[code]`` is the tier.
TIERS_BY_CODE: tuple[Tier, ...] = (Tier.HIGH, Tier.MID, Tier.BASE, Tier.PROSPECT)
SEGMENTS_BY_CODE: tuple[Segment, ...] = tuple(Segment)
LIFECYCLES_BY_CODE: tuple[Lifecycle, ...] = tuple(Lifecycle)

#: SPEC §3 RF segment table: (segment, R scores, F scores).
RF_SEGMENT_RULES: tuple[tuple[Segment, range, range], ...] = (
    (Segment.CHAMPIONS, range(5, 6), range(4, 6)),
    (Segment.LOYAL, range(3, 5), range(4, 6)),
    (Segment.POTENTIAL_LOYALIST, range(4, 6), range(2, 4)),
    (Segment.NEW, range(5, 6), range(1, 2)),
    (Segment.PROMISING, range(4, 5), range(1, 2)),
    (Segment.NEED_ATTENTION, range(3, 4), range(3, 4)),
    (Segment.ABOUT_TO_SLEEP, range(3, 4), range(1, 3)),
    (Segment.AT_RISK, range(1, 3), range(3, 5)),
    (Segment.CANT_LOSE, range(1, 3), range(5, 6)),
    (Segment.HIBERNATING, range(1, 3), range(1, 3)),
)


def _build_segment_grid() -> dict[tuple[int, int], Segment]:
    grid: dict[tuple[int, int], Segment] = {}
    for segment, r_scores, f_scores in RF_SEGMENT_RULES:
        for r in r_scores:
            for f in f_scores:
                if (r, f) in grid:
                    raise AssertionError(f"RF pair {(r, f)} is in {grid[(r, f)]} and {segment}")
                grid[(r, f)] = segment
    bands = range(1, SCORE_BANDS + 1)
    missing = [(r, f) for r in bands for f in bands if (r, f) not in grid]
    if missing:
        raise AssertionError(f"RF pairs without a segment: {missing}")
    return grid


_SEGMENT_GRID = _build_segment_grid()


def rf_segment(r: int, f: int) -> Segment:
    """The SPEC §3 RF segment of an (R score, F score) pair, each 1…5."""
    try:
        return _SEGMENT_GRID[(r, f)]
    except KeyError:
        raise ValueError(f"R and F scores must be within 1..5, got ({r}, {f})") from None


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """The SPEC §3 numbers, all overridable by configuration.

    ``window_days``: length of the trailing RFM window in UTC calendar days (as_of's date
    included). ``high_share``/``base_share``: fractions of tiered customers put in the high and
    base tiers (mid is the rest). ``new_days``, ``active_days``, ``dormant_days``: lifecycle
    thresholds, each inclusive ("≤ 90 days" is active, 91 is dormant).
    """

    window_days: int = 365
    high_share: float = 0.2
    base_share: float = 0.2
    new_days: int = 30
    active_days: int = 90
    dormant_days: int = 180

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise ValueError(f"window_days must be at least 1, got {self.window_days}")
        for name in ("high_share", "base_share"):
            share = getattr(self, name)
            if not 0 <= share <= 1:
                raise ValueError(f"{name} must be within [0, 1], got {share}")
        if self.high_share + self.base_share > 1:
            raise ValueError("high_share + base_share must not exceed 1")
        if not (self.new_days >= 0 and 0 <= self.active_days <= self.dormant_days):
            raise ValueError(
                "lifecycle thresholds must satisfy new_days >= 0 and "
                "0 <= active_days <= dormant_days"
            )

    def split_counts(self, n: int) -> tuple[int, int, int]:
        """(high, mid, base) counts for ``n`` tiered customers; see the module docstring."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        high = math.floor(Fraction(str(self.high_share)) * n + Fraction(1, 2))
        base = min(math.floor(Fraction(str(self.base_share)) * n + Fraction(1, 2)), n - high)
        return high, n - high - base, base


#: The SPEC §3 defaults, shared as argument default (the policy is frozen).
DEFAULT_POLICY = TierPolicy()


def utc_date(moment: datetime, name: str = "datetime") -> date:
    """The UTC calendar date of an aware datetime; naive datetimes raise ``ValueError``."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC).date()


def window_start(as_of: datetime | date, policy: TierPolicy = DEFAULT_POLICY) -> date:
    """First UTC date inside the trailing window that ends on ``as_of``'s date."""
    day = utc_date(as_of, "as_of") if isinstance(as_of, datetime) else as_of
    return day - timedelta(days=policy.window_days - 1)


def expired_days(
    previous_through: date, through: date, policy: TierPolicy = DEFAULT_POLICY
) -> list[date]:
    """Bucket dates to subtract when the window's watermark moves from ``previous_through`` to
    ``through`` (usually one date; several after missed nights; none if not moving forward)."""
    first = window_start(previous_through, policy)
    last = window_start(through, policy) - timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
