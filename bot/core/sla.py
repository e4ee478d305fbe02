"""Service standards (SPEC §4): response targets, business-hours clocks, warnings and breaches.

Pure: every function takes the time it works with. The SLA sweep (a scheduled job) asks
:func:`due_actions` what each open ticket needs now; because each action is recorded on the
ticket (``*_warned_at``, ``*_breached_at``), asking twice never acts twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.tickets import Ticket, TicketKind
from bot.core.tiers import Tier
from bot.core.triage import Severity

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)


@dataclass(frozen=True, slots=True)
class SlaTarget:
    first_response: timedelta
    resolution: timedelta


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening hours on some weekdays (0 = Monday) in one time zone; SLA clocks run only then."""

    days: frozenset[int]
    opens: time
    closes: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone: str) -> BusinessHours:
        """``"mon-fri 09:00-18:00"`` in `zone`; raises ValueError saying what is wrong."""
        found = _HOURS.match(spec.lower())
        if not found:
            raise ValueError(f"business hours {spec!r}: expected e.g. 'mon-fri 09:00-18:00'")
        first, last = found["d1"], found["d2"] or found["d1"]
        if first not in DAY_NAMES or last not in DAY_NAMES:
            raise ValueError(f"business hours {spec!r}: days are mon … sun")
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last)
        days = (
            frozenset(range(start, end + 1))
            if start <= end
            else frozenset([*range(start, 7), *range(0, end + 1)])
        )
        opens = time(int(found["h1"]), int(found["m1"]))
        closes = time(int(found["h2"]), int(found["m2"]))
        if closes <= opens:
            raise ValueError(f"business hours {spec!r}: closing must be after opening")
        return cls(days, opens, closes, ZoneInfo(zone))

    def _windows(self, start: datetime) -> list[tuple[datetime, datetime]]:
        """Opening windows (UTC) from the day of `start` for two weeks."""
        local = start.astimezone(self.zone)
        windows = []
        for offset in range(15):
            day = (local + timedelta(days=offset)).date()
            if day.weekday() not in self.days:
                continue
            begin = datetime.combine(day, self.opens, self.zone).astimezone(UTC)
            end = datetime.combine(day, self.closes, self.zone).astimezone(UTC)
            windows.append((begin, end))
        return windows

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start`."""
        remaining = duration
        cursor = start
        while True:
            for begin, end in self._windows(cursor):
                if end <= cursor:
                    continue
                begin = max(begin, cursor)
                if begin + remaining <= end:
                    return begin + remaining
                remaining -= end - begin
                cursor = end
            cursor += timedelta(days=1)  # no window left in the fortnight scanned; go on

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments."""
        total = timedelta()
        cursor = start
        while cursor < end:
            advanced = False
            for begin, close in self._windows(cursor):
                if close <= cursor or begin >= end:
                    continue
                total += min(close, end) - max(begin, cursor)
                cursor = min(close, end)
                advanced = True
            if not advanced:
                cursor += timedelta(days=14)
        return total


class Case(StrEnum):
    ENQUIRY = "enquiry"
    GENERAL = "general"
    QUALITY = "quality"
    MAJOR = "major"


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets per case, the high-tier cap, when to warn, and optional business hours."""

    targets: dict[Case, SlaTarget]
    high_tier_first_response_cap: timedelta
    warn_fraction: float = 0.8
    hours: BusinessHours | None = None

    @property
    def enquiry_first_response(self) -> timedelta:
        """The promised first human answer to a question handed to a person."""
        return self.targets[Case.ENQUIRY].first_response

    def target(self, kind: TicketKind, severity: Severity, tier: Tier | None) -> SlaTarget:
        case = Case.ENQUIRY if kind is TicketKind.ENQUIRY else Case(severity.value)
        target = self.targets[case]
        if tier is Tier.HIGH and target.first_response > self.high_tier_first_response_cap:
            target = SlaTarget(self.high_tier_first_response_cap, target.resolution)
        return target

    def after(self, start: datetime, duration: timedelta) -> datetime:
        return self.hours.add(start, duration) if self.hours else start + duration

    def deadlines(
        self, opened_at: datetime, kind: TicketKind, severity: Severity, tier: Tier | None
    ) -> tuple[datetime, datetime]:
        """(first response due, resolution due)."""
        target = self.target(kind, severity, tier)
        return self.after(opened_at, target.first_response), self.after(
            opened_at, target.resolution
        )

    def warn_time(self, start: datetime, due: datetime) -> datetime:
        """When `warn_fraction` of the time from `start` to `due` has elapsed."""
        if self.hours:
            span = self.hours.working_time(start, due)
            return self.hours.add(start, span * self.warn_fraction)
        return start + (due - start) * self.warn_fraction


class SlaAction(StrEnum):
    WARN_FIRST_RESPONSE = "warn_first_response"
    BREACH_FIRST_RESPONSE = "breach_first_response"
    WARN_RESOLUTION = "warn_resolution"
    BREACH_RESOLUTION = "breach_resolution"


def due_actions(ticket: Ticket, now: datetime, policy: SlaPolicy) -> list[SlaAction]:
    """What an open ticket needs at `now` that has not been done yet, in order."""
    if not ticket.is_open:
        return []
    actions: list[SlaAction] = []
    start = ticket.created_at
    if ticket.first_response_at is None:
        due = ticket.first_response_due_at
        if ticket.first_response_breached_at is None and now >= due:
            actions.append(SlaAction.BREACH_FIRST_RESPONSE)
        elif ticket.first_response_warned_at is None and now >= policy.warn_time(start, due):
            actions.append(SlaAction.WARN_FIRST_RESPONSE)
    due = ticket.resolution_due_at
    if ticket.resolution_breached_at is None and now >= due:
        actions.append(SlaAction.BREACH_RESOLUTION)
    elif ticket.resolution_warned_at is None and now >= policy.warn_time(start, due):
        actions.append(SlaAction.WARN_RESOLUTION)
    return actions


def default_sla() -> SlaPolicy:
    """SPEC §4's service standards: 2 h / 24 h for enquiries and general and quality
    complaints, 15 min / 24 h for major ones, a high-tier first response within 2 h, warnings
    at 80 %, clocks running around the clock."""
    hours, day = timedelta(hours=2), timedelta(hours=24)
    return SlaPolicy(
        targets={
            Case.ENQUIRY: SlaTarget(hours, day),
            Case.GENERAL: SlaTarget(hours, day),
            Case.QUALITY: SlaTarget(hours, day),
            Case.MAJOR: SlaTarget(timedelta(minutes=15), day),
        },
        high_tier_first_response_cap=hours,
    )
