"""Five-field cron expressions (``minute hour day-of-month month day-of-week``) for
recurring campaigns, read in a named time zone.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a list of
those separated by commas. Day of week is 0–7 (0 and 7 are Sunday). As in classic cron, when
both day fields are restricted a day matching either one matches. A local time that a
daylight-saving jump skips is moved forward by the jump (02:30 on a 02:00→03:00 night fires
at 03:30); an ambiguous one (the hour repeated in autumn) fires at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
SEARCH_DAYS = 366 * 5
"""How far ahead :func:`next_after` looks (a 29 February expression fires within 5 years)."""


class CronError(ValueError):
    """The expression is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday … 6 = Saturday (7 is folded into 0)."""
    any_day: bool
    any_weekday: bool

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        weekday = day.isoweekday() % 7
        by_day, by_weekday = day.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                first, last = body.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = end = int(body)
                if step_text:
                    end = high
        except ValueError:
            raise CronError(f"{name}: {part!r} is not a number, range or step") from None
        if step < 1 or not (low <= start <= end <= high):
            raise CronError(f"{name}: {part!r} must lie within {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """The expression's fields; raises :class:`CronError` naming the wrong one."""
    parts = expression.split()
    if len(parts) != len(_FIELDS):
        raise CronError(
            f"{expression!r} must have 5 fields: minute hour day-of-month month day-of-week"
        )
    sets = [
        _field(p, name, low, high) for p, (name, low, high) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Cron(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*")


def next_after(cron: Cron, after: datetime, zone: ZoneInfo) -> datetime | None:
    """The first moment (UTC) after `after` that `cron` names in `zone`, or None within
    :data:`SEARCH_DAYS`."""
    local_day = after.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        day = local_day + timedelta(days=offset)
        if not cron.day_matches(day):
            continue
        for hour in sorted(cron.hours):
            for minute in sorted(cron.minutes):
                moment = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
                if moment > after:
                    return moment
    return None
