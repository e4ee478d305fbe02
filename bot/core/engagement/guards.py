"""The guards on every proactive message (SPEC §8), as pure functions.

In the order they are applied (the first that refuses names the reason):

1. **reachable** — nothing to a customer who blocked the bot, whose chat is gone, or who has
   no chat with the bot yet (an imported customer not linked); service messages too;
2. **already sent this period** — the idempotency key is among the keys already written;
3. **consent** (marketing) — only with ``marketing_consent``;
4. **minimum interval** — the rule's previous message to this customer is at least the rule's
   ``min_interval_days`` old (win-back: at most once per 90 days);
5. **quiet hours** (marketing) — during the quiet hours in the customer's time zone the message
   is *held*: it is still sent, with ``not_before`` at the window's opening, never dropped;
6. **cap** (marketing) — at most ``marketing_cap`` marketing messages in ``cap_days``, counting
   those already sent or held to be sent after the moment this one would go out minus
   ``cap_days``.

Service messages (a payment reminder) skip 3–6 but never 1–2.

Times are UTC; the customer's zone (an IANA name, or the deployment default when unknown or
invalid) is used only to read the local clock for the quiet hours. Daylight-saving changes
are handled by :mod:`zoneinfo`: the window opens at the first instant whose local time is at or
after its opening.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.models import Reachability
from bot.core.policies import EngagementPolicy


class SkipReason(StrEnum):
    """Why a customer of a rule's audience gets nothing now."""

    BLOCKED = "blocked"
    CHAT_GONE = "chat_gone"
    NOT_LINKED = "not_linked"
    ALREADY_SENT = "already_sent"
    NO_CONSENT = "no_consent"
    TOO_SOON = "too_soon"
    CAP = "cap"
    NOTHING_NEW = "nothing_new"
    """A rule that carries content (news) has nothing this customer has not seen."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Send (``skipped`` None) at ``not_before`` — later than now when held by the quiet
    hours — or skip for ``skipped``."""

    skipped: SkipReason | None
    not_before: datetime | None = None
    held: bool = False

    @property
    def sends(self) -> bool:
        return self.skipped is None


def zone_of(name: str | None, default: str) -> ZoneInfo:
    """The customer's time zone; the `default` one when theirs is unknown or not a zone."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _in_window(clock: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def quiet_until(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet hours that `now` falls in end (UTC), or None when `now` is outside
    them. The window may wrap midnight (21:00–09:00)."""
    local = now.astimezone(zone)
    if not _in_window(local.time().replace(tzinfo=None), start, end):
        return None
    day = local.date()
    if local.time().replace(tzinfo=None) >= end:  # evening part of a wrapping window
        day += timedelta(days=1)
    opening = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    # a wall time skipped by a daylight-saving jump maps past the jump: still the opening
    return opening if opening > now else now


def check(
    *,
    marketing: bool,
    reachability: Reachability,
    has_chat: bool,
    consent: bool,
    key: str,
    sent_keys: Collection[str],
    last_of_rule: datetime | None,
    min_interval_days: int,
    marketing_sent_at: Sequence[datetime],
    zone: ZoneInfo,
    now: datetime,
    policy: EngagementPolicy,
) -> Verdict:
    """The guards' verdict on one message (see the module docstring for the order).

    `sent_keys` are the idempotency keys already written for this customer; `last_of_rule` is
    when this rule last sent (or will send) to them; `marketing_sent_at` are the moments of
    their marketing messages, sent or held."""
    if reachability is Reachability.BLOCKED:
        return Verdict(SkipReason.BLOCKED)
    if reachability is Reachability.CHAT_GONE:
        return Verdict(SkipReason.CHAT_GONE)
    if not has_chat:
        return Verdict(SkipReason.NOT_LINKED)
    if key in sent_keys:
        return Verdict(SkipReason.ALREADY_SENT)
    if not marketing:
        return Verdict(None, now)
    if not consent:
        return Verdict(SkipReason.NO_CONSENT)
    recent = last_of_rule is not None and now - last_of_rule < timedelta(days=min_interval_days)
    if min_interval_days and recent:
        return Verdict(SkipReason.TOO_SOON)
    release = quiet_until(now, zone, policy.quiet_start, policy.quiet_end)
    at = release or now
    window_start = at - timedelta(days=policy.cap_days)
    if sum(1 for moment in marketing_sent_at if moment > window_start) >= policy.marketing_cap:
        return Verdict(SkipReason.CAP)
    return Verdict(None, at, held=release is not None)
