"""Telegram's flood limits, kept by construction (SPEC §11, TELEGRAM.md).

A :class:`Pacer` answers "how long must this message wait?" for a destination, from token
buckets per chat, per group and across the bot, plus a bot-wide pause after a 429. It is pure
bookkeeping over times it is given, so it is tested without sleeping; the delivery service
does the waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_WAIT = 0.001
"""Seconds; a shorter wait is treated as none."""


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second up to `burst`; ``wait(now)`` is the delay until one is free.

    `margin` (seconds) keeps a little in hand: a message goes out only when a token plus
    `margin` seconds' worth is free, because Telegram's clock starts when a request arrives,
    and requests arrive with jitter; without it, exact pacing earns an occasional 429.
    """

    rate: float
    burst: float
    margin: float = 0.0
    tokens: float = -1.0
    stamp: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
            return
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)

    def wait(self, now: float) -> float:
        self._refill(now)
        need = min(self.burst, 1.0 + self.margin * self.rate)
        return 0.0 if self.tokens >= need else (need - self.tokens) / self.rate

    def full_at(self, now: float) -> bool:
        """Refilled to capacity: the bucket remembers nothing worth keeping."""
        self._refill(now)
        return self.tokens >= self.burst

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


@dataclass(frozen=True, slots=True)
class PacingLimits:
    chat_per_second: float = 1.0
    chat_burst: int = 3
    global_per_second: float = 30.0
    group_per_minute: int = 20
    margin_seconds: float = 0.2


@dataclass(slots=True)
class Pacer:
    """Per-destination and global rate bookkeeping on a monotonic time axis (seconds)."""

    limits: PacingLimits = field(default_factory=PacingLimits)
    _chats: dict[int, TokenBucket] = field(default_factory=dict)
    _global: TokenBucket | None = None
    _paused_until: float = 0.0
    max_tracked_chats: int = 10_000

    def _buckets(self, chat_id: int) -> tuple[TokenBucket, TokenBucket]:
        if self._global is None:
            rate = self.limits.global_per_second
            self._global = TokenBucket(rate, max(1.0, rate), self.limits.margin_seconds)
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if chat_id < 0:  # groups and supergroups have negative ids
                per_minute = self.limits.group_per_minute
                bucket = TokenBucket(
                    per_minute / 60.0, float(per_minute), self.limits.margin_seconds
                )
            else:
                bucket = TokenBucket(
                    self.limits.chat_per_second,
                    float(self.limits.chat_burst),
                    self.limits.margin_seconds,
                )
            self._chats[chat_id] = bucket
        return bucket, self._global

    def delay(self, chat_id: int, now: float) -> float:
        """Seconds to wait before a message to `chat_id` may go out."""
        chat, overall = self._buckets(chat_id)
        wait = max(self._paused_until - now, chat.wait(now), overall.wait(now))
        # Below a millisecond is rounding, not a limit: clocks that tick in microseconds would
        # otherwise never see that time pass.
        return wait if wait >= MIN_WAIT else 0.0

    def chat_delay(self, chat_id: int, now: float) -> float:
        """Seconds to wait for `chat_id`'s own limit (and a pause), the bot-wide one aside."""
        chat, _ = self._buckets(chat_id)
        wait = max(self._paused_until - now, chat.wait(now))
        return wait if wait >= MIN_WAIT else 0.0

    def record(self, chat_id: int, now: float) -> None:
        """A message to `chat_id` went out at `now`."""
        chat, overall = self._buckets(chat_id)
        chat.take(now)
        overall.take(now)
        if len(self._chats) > self.max_tracked_chats:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Drops buckets that have refilled completely: they hold no information."""
        for chat_id in [c for c, b in self._chats.items() if b.full_at(now)]:
            del self._chats[chat_id]

    def __len__(self) -> int:
        return len(self._chats)

    def pause(self, seconds: float, now: float) -> None:
        """Telegram answered 429: nothing goes out until `seconds` have passed."""
        self._paused_until = max(self._paused_until, now + seconds)
