"""A ticket's priority: its severity, raised one step for a high-tier customer (SPEC §3, §5).

Priority is not severity: a high-value customer's case is handled sooner, never judged more
severe. :mod:`bot.core.tickets` (and the ticket services) apply it; severity itself goes up only
for repeated contacts (:func:`bot.core.tickets.raise_severity`).
"""

from __future__ import annotations

from enum import StrEnum

from bot.core.tiers.rules import Tier
from bot.core.triage.model import Severity

__all__ = ["Priority", "priority"]


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


_PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


_BASE_PRIORITY: dict[Severity | None, Priority] = {
    None: Priority.LOW,
    Severity.GENERAL: Priority.NORMAL,
    Severity.QUALITY: Priority.NORMAL,
    Severity.MAJOR: Priority.URGENT,
}


def priority(severity: Severity | None, tier: str | None) -> Priority:
    """Severity combined with the customer's tier (SPEC §3, §5).

    enquiry → low, general and quality → normal, major → urgent; a :attr:`Tier.HIGH` customer's
    case goes one step up (low → normal → high; urgent stays urgent). Severity is unchanged.
    ``tier`` is the stored tier value (a :class:`~bot.core.tiers.Tier` or its text), None when
    the customer is unknown.
    """
    base = _BASE_PRIORITY[severity]
    if tier == Tier.HIGH:
        return _PRIORITIES[min(_PRIORITIES.index(base) + 1, len(_PRIORITIES) - 1)]
    return base
