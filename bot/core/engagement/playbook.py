"""The playbook model: rules that say who hears what, and when (SPEC §8).

A :class:`Rule` is either *marketing* (consent, quiet hours and the weekly cap apply) or
*service* (a payment reminder: it ignores the cap and quiet hours, though never a block). It
fires on a :class:`Cadence` (every N days or weeks, monthly on a day, quarterly, half-yearly,
yearly, on the birthday, once) or on a :class:`Trigger` (an event and a delay after it, with an
optional deadline). Its :class:`Audience` filters customers; its :class:`Variant` list picks,
by the first matching :class:`Condition`, the template and coupon a customer gets.

The objects are plain frozen dataclasses; :mod:`bot.app.playbook_file` builds them from YAML
and checks them, so a :class:`Playbook` in hand is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.core.staff_tasks import TaskKind
from bot.core.tiers import Lifecycle, Segment, Tier


class RuleKind(StrEnum):
    MARKETING = "marketing"
    SERVICE = "service"


class RuleAction(StrEnum):
    """What a rule does when it is due for a customer."""

    MESSAGE = "message"
    """Sends the customer its message (the default)."""
    ADVISOR_TASK = "advisor_task"
    """Opens an ``advisor_checkin`` staff task (:mod:`bot.core.staff_tasks`) for the
    customer's dedicated advisor — the supervisors' chat when they have none — whose card
    offers to send the rule's message as the suggested one. Nothing goes to the customer until
    a person chooses so; then the rule's kind decides the guards."""


class CadenceKind(StrEnum):
    EVERY_DAYS = "every_days"
    EVERY_WEEKS = "every_weeks"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"
    BIRTHDAY = "birthday"
    ONCE = "once"


class TriggerKind(StrEnum):
    ORDER_UNPAID = "order_unpaid"
    """An order created and still unpaid; the moment is its creation."""
    ORDER_DELIVERED = "order_delivered"
    TICKET_RESOLVED = "ticket_resolved"
    FIRST_ORDER = "first_order"
    """The customer's first paid order; the moment is its payment."""
    TURNED_DORMANT = "turned_dormant"
    """The day after the last paid order became older than the active stage allows."""
    TIER_CHANGED = "tier_changed"


class Condition(StrEnum):
    """What picks a variant (SPEC §8's definitions; the numbers are policy)."""

    PRICE_SENSITIVE = "price_sensitive"
    """Most past orders used a coupon, or the customer carries a price-sensitivity tag."""
    UNHAPPY_WITH_SERVICE = "unhappy_with_service"
    """A complaint within the policy's window, or a rating at or below its threshold."""
    DEFAULT = "default"
    """Always true; the last variant of a list."""


class CouponKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"
    FREE_SHIPPING = "free_shipping"


@dataclass(frozen=True, slots=True)
class CouponSpec:
    """What coupon a rule issues (issuing itself is a later step). `value` is a percentage
    (1–100) or an amount in cents; free shipping has none."""

    kind: CouponKind
    value: int | None = None
    min_spend_cents: int = 0
    valid_days: int = 30


@dataclass(frozen=True, slots=True)
class Audience:
    """Filters over the customer's facts; an empty filter admits everybody. Within a field any
    listed value matches; across fields all must match. `has_advisor` None ignores advisors."""

    tiers: frozenset[Tier] = frozenset()
    stages: frozenset[Lifecycle] = frozenset()
    segments: frozenset[Segment] = frozenset()
    tags: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    has_advisor: bool | None = None


@dataclass(frozen=True, slots=True)
class Cadence:
    """`every` is N for every_days / every_weeks, the day of the month (1–31, clamped to the
    month's last day) for monthly, and unused for the others."""

    kind: CadenceKind
    every: int = 1


@dataclass(frozen=True, slots=True)
class Trigger:
    """Fires `after` the event's moment, and not once `until` has passed since it (None: no
    deadline)."""

    on: TriggerKind
    after: timedelta = timedelta(0)
    until: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    """A template key per locale and an optional coupon, for customers meeting `when`."""

    when: Condition
    templates: Mapping[str, str]
    coupon: CouponSpec | None = None
    task: TaskKind | None = None
    """A staff task opened with the message (win-back unhappy: a ``callback`` for a senior
    person, in the supervisors' chat)."""


class Content(StrEnum):
    """Content a rule's message carries, read when it is planned."""

    NEWS = "news"
    NPS = "nps"
    """A satisfaction survey: 0–10 buttons under the message (:mod:`bot.core.surveys`)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of the playbook. Exactly one of `cadence` and `trigger` is set. `variants` is
    never empty: a rule without variants in its file has one ``default`` variant built from
    its own template and coupon. `min_interval_days` keeps two sends of the rule to one
    customer at least that far apart (win-back: at most once per 90 days)."""

    id: str
    kind: RuleKind
    audience: Audience
    variants: tuple[Variant, ...]
    cadence: Cadence | None = None
    trigger: Trigger | None = None
    min_interval_days: int = 0
    content: Content | None = None
    """What the message carries besides its template: ``news`` (see
    :mod:`bot.core.engagement.news`); nothing new to carry, nothing is sent."""
    line: int = 0
    """Where the rule starts in its file (1-based), for messages about it."""
    action: RuleAction = RuleAction.MESSAGE

    @property
    def is_marketing(self) -> bool:
        return self.kind is RuleKind.MARKETING


@dataclass(frozen=True, slots=True)
class Playbook:
    rules: tuple[Rule, ...]
    source: str = ""
    """The file it was read from."""
    by_id: Mapping[str, Rule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.by_id:
            object.__setattr__(self, "by_id", {rule.id: rule for rule in self.rules})

    def rule(self, rule_id: str) -> Rule | None:
        return self.by_id.get(rule_id)
