"""Flood control: token buckets on a monotonic clock, as Telegram applies them.

Telegram allows about one message per second to one chat (with a small burst), about 30 per
second across all chats, and 20 per minute into one group or supergroup (topic creation and
edits count). Over a limit the answer is 429 with ``parameters.retry_after`` in whole seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Methods that count against the limits (reads, polling and callback answers do not).
SENDING_METHODS: frozenset[str] = frozenset(
    {
        "sendMessage", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
        "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendVoice", "sendAnimation",
        "sendVideoNote", "sendSticker", "sendLocation", "sendVenue", "sendContact", "sendPoll",
        "sendDice", "sendMediaGroup", "sendInvoice", "sendPaidMedia", "sendChecklist",
        "editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup",
        "editMessageLiveLocation", "createForumTopic", "editForumTopic",
    }
)  # fmt: skip


@dataclass
class FloodLimits:
    """Tunable limits; ``FloodLimits(enabled=False)`` switches flood control off.

    Rates are tokens per second; bursts are bucket capacities. ``group_per_minute`` is both the
    refill (per 60 s) and, unless ``group_burst`` is set, the capacity of a group's bucket.
    ``paid_broadcast_rate`` replaces ``global_rate`` for requests with
    ``allow_paid_broadcast=true``.
    """

    enabled: bool = True
    per_chat_rate: float = 1.0
    per_chat_burst: int = 3
    global_rate: float = 30.0
    global_burst: int = 30
    group_per_minute: float = 20.0
    group_burst: int | None = None
    paid_broadcast_rate: float = 1000.0


@dataclass
class TokenBucket:
    """``capacity`` tokens refilled at ``rate`` per second; one request takes one token."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        self.refill(now)
        if self.tokens >= 1.0:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate


@dataclass
class FloodControl:
    """Keeps the buckets and admits or refuses one sending request at a time."""

    limits: FloodLimits
    clock: Callable[[], float] = time.monotonic
    _chats: dict[int | str, TokenBucket] = field(default_factory=dict)
    _groups: dict[int | str, TokenBucket] = field(default_factory=dict)
    _global: TokenBucket | None = None
    _paid: TokenBucket | None = None

    def _bucket(
        self, store: dict[int | str, TokenBucket], key: int | str, rate: float, cap: float
    ) -> TokenBucket:
        bucket = store.get(key)
        if bucket is None:
            bucket = TokenBucket(rate, cap, cap, self.clock())
            store[key] = bucket
        return bucket

    def admit(self, chat_id: int | str | None, is_group: bool, paid: bool = False) -> int:
        """Take a token from every applicable bucket, or none and return ``retry_after`` > 0.

        Returns 0 when the request may proceed.
        """
        lim = self.limits
        if not lim.enabled:
            return 0
        now = self.clock()
        if paid:
            if self._paid is None:
                rate = lim.paid_broadcast_rate
                self._paid = TokenBucket(rate, rate, rate, now)
            buckets = [self._paid]
        else:
            if self._global is None:
                self._global = TokenBucket(
                    lim.global_rate, lim.global_burst, lim.global_burst, now
                )
            buckets = [self._global]
        if chat_id is not None:
            buckets.append(
                self._bucket(self._chats, chat_id, lim.per_chat_rate, lim.per_chat_burst)
            )
            if is_group:
                cap = lim.group_burst if lim.group_burst is not None else lim.group_per_minute
                buckets.append(
                    self._bucket(self._groups, chat_id, lim.group_per_minute / 60.0, cap)
                )
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
        for bucket in buckets:
            bucket.tokens -= 1.0
        return 0

    def reset(self) -> None:
        """Forget all buckets (full again)."""
        self._chats.clear()
        self._groups.clear()
        self._global = None
        self._paid = None
