"""Periods of a cadence, and the idempotency key they make.

A rule sends a customer at most one message per period: the outbox keeps the key
``engage:<rule>:<customer_id>:<period>`` unique, so a re-run, a restart or a second process
enqueues nothing new. Calendar periods are read on the UTC date of the run, except the
birthday, which is the customer's own day:

=============== =================== ==========================================================
cadence         period              due
=============== =================== ==========================================================
monthly: D      ``2026-12``         from day D of the month (the last day if the month is short)
quarterly       ``2026Q4``          from the first day of the quarter
half_yearly     ``2026H2``          from the first day of the half-year
yearly          ``2026``            from 1 January
birthday        ``2026``            on the birthday (29 February: the 28th in other years) and
                                    ``grace_days`` after it, in the customer's time zone
every_weeks: N  ``2026-W47``        all the time; the label is the ISO week opening the block
                                    of N weeks (blocks counted from Monday 2000-01-03)
every_days: N   ``2026-11-30``      all the time; the label is the first day of the block of N
                                    days (counted from 2000-01-03)
once            ``once``            all the time
=============== =================== ==========================================================
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta

from bot.core.engagement.playbook import Cadence, CadenceKind

EPOCH = date(2000, 1, 3)
"""A Monday: blocks of N days or N weeks are counted from it, so they never shift."""


def engagement_key(rule_id: str, customer_id: int, period: str) -> str:
    """The outbox idempotency key of one rule's message to one customer in one period."""
    return f"engage:{rule_id}:{customer_id}:{period}"


def parse_engagement_key(key: str) -> tuple[str, int, str] | None:
    """(rule, customer id, period) of an ``engage:`` key; None for any other key."""
    parts = key.split(":", 3)
    if len(parts) != 4 or parts[0] != "engage" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3]


def birthday_in(year: int, birthday: date) -> date:
    """The birthday as celebrated in `year` (29 February falls on the 28th in other years)."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def birthday_occasion(today: date, birthday: date, grace_days: int) -> date | None:
    """The birthday being celebrated on `today` (this year's, or last year's when the grace
    days run into January), or None outside the birthday and its grace days."""
    for year in (today.year, today.year - 1):
        day = birthday_in(year, birthday)
        if day <= today <= day + timedelta(days=grace_days):
            return day
    return None


@functools.lru_cache(maxsize=4096)  # pure; called per customer per rule per day
def period_of(
    cadence: Cadence, today: date, birthday: date | None = None, grace_days: int = 0
) -> str:
    """The label of the period that `today` (a UTC date; for the birthday, the customer's
    local date) falls in."""
    kind = cadence.kind
    if kind is CadenceKind.BIRTHDAY and birthday is not None:
        occasion = birthday_occasion(today, birthday, grace_days)
        return f"{(occasion or today).year:04d}"
    if kind is CadenceKind.MONTHLY:
        return f"{today.year:04d}-{today.month:02d}"
    if kind is CadenceKind.QUARTERLY:
        return f"{today.year:04d}Q{(today.month - 1) // 3 + 1}"
    if kind is CadenceKind.HALF_YEARLY:
        return f"{today.year:04d}H{(today.month - 1) // 6 + 1}"
    if kind in (CadenceKind.YEARLY, CadenceKind.BIRTHDAY):
        return f"{today.year:04d}"
    if kind is CadenceKind.EVERY_WEEKS:
        monday = today - timedelta(days=today.weekday())
        block = (monday - EPOCH).days // 7 // cadence.every
        start = EPOCH + timedelta(weeks=block * cadence.every)
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if kind is CadenceKind.EVERY_DAYS:
        block = (today - EPOCH).days // cadence.every
        return (EPOCH + timedelta(days=block * cadence.every)).isoformat()
    return "once"


@functools.lru_cache(maxsize=4096)  # pure; called per customer per rule per day
def is_due(
    cadence: Cadence, today: date, birthday: date | None = None, grace_days: int = 0
) -> bool:
    """Whether a rule with this cadence may send on `today` (see the table above). A birthday
    rule is never due for a customer whose birthday is unknown."""
    kind = cadence.kind
    if kind is CadenceKind.MONTHLY:
        last = calendar.monthrange(today.year, today.month)[1]
        return today.day >= min(cadence.every, last)
    if kind is CadenceKind.BIRTHDAY:
        return birthday is not None and birthday_occasion(today, birthday, grace_days) is not None
    return True
