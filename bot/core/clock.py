"""The real clock; tests use a frozen one (``tests/fakes.py``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class SystemClock:
    """Implements :class:`bot.core.ports.Clock` with the system's time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def require_aware(moment: datetime, what: str = "time") -> datetime:
    """Returns `moment` in UTC; a naive datetime is a programming error inside the core."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)
