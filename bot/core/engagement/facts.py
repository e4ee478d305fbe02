"""What the engagement engine knows about one customer when it decides (read by the storage
through :class:`bot.core.ports.EngagementFactsReader`, or built by hand in tests).

Plain frozen data: the evaluation (:mod:`bot.core.engagement.evaluate`) is a pure function
of these facts, the playbook, the policy and the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.core.models import Reachability
from bot.core.records import OrderStatus
from bot.core.tiers import Lifecycle, Segment, Tier


@dataclass(frozen=True, slots=True)
class OrderFact:
    ref: str
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    used_coupon: bool = False
    amount_cents: int = 0


@dataclass(frozen=True, slots=True)
class SentEngagement:
    """An engagement message already in the outbox: its key, and when it goes (or went) out
    (``not_before``: the moment the guards decided on)."""

    key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """One customer as the playbook sees them.

    `language` / `language_code` are the customer's choice and what Telegram reports; the
    evaluation resolves the locale from them. `birthday` is None when unknown or when no
    encryption key is configured (it is personal data). `ratings` are (moment, score 1–5),
    `complaints` the moments complaints were opened, `resolved_tickets` (ticket id,
    resolution moment). `tier_changed_on` is the date of the last tier change."""

    customer_id: int
    name: str
    chat_id: int | None
    reachability: Reachability = Reachability.REACHABLE
    language: str | None = None
    language_code: str | None = None
    timezone: str | None = None
    tier: Tier = Tier.PROSPECT
    stage: Lifecycle = Lifecycle.PROSPECT
    segment: Segment | None = None
    tags: frozenset[str] = frozenset()
    has_advisor: bool = False
    consent: bool = False
    birthday: date | None = None
    orders: tuple[OrderFact, ...] = ()
    complaints: tuple[datetime, ...] = ()
    ratings: tuple[tuple[datetime, int], ...] = ()
    resolved_tickets: tuple[tuple[int, datetime], ...] = ()
    tier_changed_on: date | None = None
    sent: tuple[SentEngagement, ...] = ()
