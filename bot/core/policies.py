"""The deployment's rules as the core sees them: typed, frozen, built once at start-up.

The composition root (:mod:`bot.app.policies`) reads the settings and builds one
:class:`Policies`; the core never sees the settings object nor any secret (the link-signing
key arrives already derived). Every default here is SPEC's, so ``Policies()`` is a complete,
valid configuration for tests and tools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from enum import StrEnum

from bot.core.engagement.playbook import Playbook
from bot.core.loyalty import LoyaltyPolicy
from bot.core.pacing import PacingLimits
from bot.core.profile import ProfilePolicy
from bot.core.sla import SlaPolicy, default_sla
from bot.core.surveys import SurveyPolicy
from bot.core.tickets import Level


class DeskMode(StrEnum):
    """Where a taken-over conversation runs."""

    DIRECT = "direct"
    """In the agent's private chat with the bot (scales past a group's 20 messages/minute)."""
    TOPIC = "topic"
    """In the ticket's topic in the staff group."""


@dataclass(frozen=True, slots=True)
class Localisation:
    default_locale: str = "en"
    """Used when neither the customer nor Telegram names a locale."""
    default_timezone: str = "UTC"
    """Assumed for customers who have not given theirs."""


@dataclass(frozen=True, slots=True)
class StaffChannels:
    """Where staff are reached and how the desk works."""

    group_chat_id: int | None = None
    """The staff group: ticket cards, warnings, escalations, and staff buttons."""
    supervisor_chat_id: int | None = None
    manager_chat_id: int | None = None
    topics: bool = True
    """One forum topic per ticket in the staff group."""
    desk_mode: DeskMode = DeskMode.DIRECT
    sign_replies: bool = False
    """Send an agent's text signed with their first name instead of copying it."""
    locale: str = "en"
    """The language of every message to staff."""

    def is_staff_group(self, chat_id: int) -> bool:
        return self.group_chat_id is not None and chat_id == self.group_chat_id

    def level_chats(self, level: Level) -> list[int]:
        """The extra chats that hear of a ticket answerable at `level` (supervisor and
        manager chats, when configured)."""
        chats: list[int] = []
        if level >= Level.SUPERVISOR and self.supervisor_chat_id is not None:
            chats.append(self.supervisor_chat_id)
        if level >= Level.MANAGER and self.manager_chat_id is not None:
            chats.append(self.manager_chat_id)
        return chats

    def alerted_at(self, level: Level) -> list[int]:
        """The staff group, then the level's chats, each once."""
        chats = [self.group_chat_id] if self.group_chat_id is not None else []
        return chats + [c for c in self.level_chats(level) if c not in chats]

    def supervisors(self) -> list[int]:
        """Where a supervisor hears of a low rating or a revisit problem."""
        chats = (self.group_chat_id, self.supervisor_chat_id)
        return list(dict.fromkeys(c for c in chats if c is not None))

    @property
    def desk_in_topics(self) -> bool:
        return self.desk_mode is DeskMode.TOPIC and self.group_chat_id is not None


@dataclass(frozen=True, slots=True)
class RatingPolicy:
    reopen_at_most: int = 2
    """A rating (1–5) at or below this reopens the ticket and alerts a supervisor."""
    window_days: int = 30
    """Days after a resolution during which the rating buttons work."""
    comment_max_chars: int = 1000
    revisit_after_days: int = 7
    """The after-sales revisit's delay after a resolution."""


@dataclass(frozen=True, slots=True)
class LinkingPolicy:
    """Signed t.me deep links that tie a chat to the shop's customer record."""

    key: bytes | None = field(default=None, repr=False)
    """The signing key, derived from the encryption key at the root; None: linking is off."""
    token_days: int = 14
    bot_username: str = "rapport_bot"
    phone_country_code: str = ""
    """Calling code assumed for national numbers starting with 0 (empty: kept as written)."""


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    limits: PacingLimits = field(default_factory=PacingLimits)
    max_send_attempts: int = 5
    """Attempts at one message after 429s and transient errors."""


def doubling_wait(failures: int, initial: float, longest: float) -> float:
    """The wait after the `failures`-th failure (1, 2, …): `initial`, doubling each time, at
    most `longest`. Every back-off of the bot (updates, outbox rows) uses it."""
    return float(min(initial * 2.0 ** max(failures - 1, 0), longest))


@dataclass(frozen=True, slots=True)
class HandlingPolicy:
    """How often one update is tried in this run before it is left in the inbox for the next
    start (a busy database delays an update, it never drops it)."""

    attempts: int = 5
    retry_initial_seconds: float = 0.5
    """The wait after the first failure; each further failure doubles it."""
    retry_max_seconds: float = 30.0
    order_wait_seconds: float = 15.0
    """How long an update waits for an older update of its chat that another process
    recorded and is handling (several workers); past it, it goes ahead (the other process
    is presumably dead, and its update is handled at that process's next start)."""
    order_poll_seconds: float = 0.05
    """The first pause between two looks at the inbox while waiting so; it doubles up to
    a second."""

    def wait(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure (1, 2, …)."""
        return doubling_wait(failures, self.retry_initial_seconds, self.retry_max_seconds)


@dataclass(frozen=True, slots=True)
class ComplaintPolicy:
    repeat_contacts: int = 3
    """The contact about the same open issue (this one included) from which severity rises
    one step."""


@dataclass(frozen=True, slots=True)
class EngagementPolicy:
    """The guards on proactive messages and the win-back definitions (SPEC §8)."""

    quiet_start: time = time(21, 0)
    """Quiet hours start (customer's local time); equal to `quiet_end`: no quiet hours."""
    quiet_end: time = time(9, 0)
    """Quiet hours end: a marketing message held overnight goes out from then."""
    marketing_cap: int = 2
    """Most marketing messages per customer within `cap_days`."""
    cap_days: int = 7
    birthday_grace_days: int = 3
    """Days after a birthday during which its greeting is still sent."""
    news_fresh_days: int = 14
    """News older than this is no longer sent (newer items: if added after the customer's
    last news message)."""
    news_max_items: int = 3
    """Most news items in one message (the newest)."""
    unhappy_complaint_days: int = 180
    """A complaint this recent makes a customer unhappy with service."""
    unhappy_rating_at_most: int = 2
    """So does a rating (1–5) at or below this, within the same days."""
    price_sensitive_coupon_share: float = 0.5
    """A customer whose share of orders with a coupon is above this is price-sensitive..."""
    price_sensitive_tags: frozenset[str] = frozenset({"price-sensitive", "value-seeker"})
    """...and so is one carrying any of these need tags (they mentioned price)."""
    active_days: int = 90
    """The lifecycle's active stage (the tiers' ``active_days``): the day after a customer's
    last paid order is this old, they have turned dormant."""
    currency: str = "CNY"
    """How coupon amounts are written in messages (the shop's currency), and the currency of
    the coupons the playbook issues."""
    coupon_code_length: int = 8
    """Symbols of a coupon code (a multiple of 4; 5 bits each: 8 make 40 bits)."""
    task_orders_shown: int = 3
    """Most recent orders a staff task's card lists (an advisor's check-in, a call-back)."""
    playbook: Playbook = field(default_factory=lambda: Playbook(()))
    """The deployment's playbook, read and checked at start-up (empty: nothing is sent)."""


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """How campaigns deliver and report (SPEC §10; :mod:`bot.core.campaigns`)."""

    batch_size: int = 200
    """Recipients frozen or decided per transaction; a decided batch's messages go to the
    outbox in one multi-row insert (:meth:`~bot.core.ports.OutboxRepository.enqueue_many`)."""
    queue_ahead: int = 2000
    """Most of one campaign's messages waiting in the outbox at once; the outbox sender paces
    them, and a pause holds them there (``paused`` rows) until resume."""
    report_days: int = 14
    """Orders within this many days of the message count for the report."""
    confidence: float = 0.95
    """The confidence level of the report's uplift intervals."""


@dataclass(frozen=True, slots=True)
class CampaignWizardPolicy:
    """The ``/campaign`` wizard's choices and ``/campaigns``' length (docs/campaigns.md)."""

    percent_presets: tuple[int, ...] = (5, 10, 15, 20)
    """Percent-off coupon buttons."""
    fixed_presets_cents: tuple[int, ...] = (500, 1000, 2000)
    """Amount-off coupon buttons, in cents of the shop's currency."""
    holdout_presets: tuple[int, ...] = (0, 5, 10, 20)
    """Holdout buttons, in per cent of the audience."""
    coupon_valid_days: int = 14
    list_limit: int = 10
    """Campaigns ``/campaigns`` shows, newest first."""


@dataclass(frozen=True, slots=True)
class Policies:
    """Everything the core needs to know about the deployment, in one frozen bundle."""

    locale: Localisation = field(default_factory=Localisation)
    staff: StaffChannels = field(default_factory=StaffChannels)
    sla: SlaPolicy = field(default_factory=default_sla)
    ratings: RatingPolicy = field(default_factory=RatingPolicy)
    linking: LinkingPolicy = field(default_factory=LinkingPolicy)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    complaints: ComplaintPolicy = field(default_factory=ComplaintPolicy)
    handling: HandlingPolicy = field(default_factory=HandlingPolicy)
    engagement: EngagementPolicy = field(default_factory=EngagementPolicy)
    loyalty: LoyaltyPolicy = field(default_factory=LoyaltyPolicy)
    campaigns: CampaignPolicy = field(default_factory=CampaignPolicy)
    campaign_wizard: CampaignWizardPolicy = field(default_factory=CampaignWizardPolicy)
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)
    profile: ProfilePolicy = field(default_factory=ProfilePolicy)

    @property
    def enquiry_first_response(self) -> timedelta:
        return self.sla.enquiry_first_response
