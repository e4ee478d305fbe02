"""Profile completion (SPEC §2: at least 95 % of active customers with language, time zone and
a linked customer reference), as pure rules.

At a natural moment — after the rating exchange of a resolved ticket ends, after a customer's
first order is recorded — the bot asks for **one** missing field, and after each answer for the
next one, so a customer is never handed a form. Each field is asked **at most once per
customer** (the ask is recorded, :class:`ProfileAsk`), never while a ticket of theirs is open
and never in their quiet hours; "Not now" ends the questions for this time.

The fields (:class:`ProfileField`), in the order they are asked:

* ``language`` — three buttons, one per locale. Whether the language Telegram reports counts
  as present without an explicit choice is a setting (``language_from_telegram``);
* ``timezone`` — buttons for a few common zones of the business's region and "Type it"; a
  typed zone must be an IANA name (:func:`valid_zone`), else a courteous correction;
* ``link`` — linking the shop account: a button that starts the existing ``/link`` flow
  (:mod:`bot.handlers.linking`). Present when the customer has a shop reference.

Which fields count towards "complete" is a setting too (``fields``); a field left out is
never asked and not required by the report.

Button data (all under :data:`PREFIX`, the presser's own profile only — no ids in it):
``pf:lang:<locale>``, ``pf:tz:<zone>``, ``pf:tz*`` (type it), ``pf:link``, ``pf:later``.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.messages import Button, Reply
from bot.core.models import Conversation, Customer

PREFIX = "pf:"
LANGUAGE_DATA = PREFIX + "lang:"
ZONE_DATA = PREFIX + "tz:"
TYPE_ZONE_DATA = PREFIX + "tz*"
LINK_DATA = PREFIX + "link"
LATER_DATA = PREFIX + "later"

FLOW = "profile"
"""The dialogue state of a customer who pressed "Type it" and is typing their time zone."""
TYPING_ZONE = "timezone"


class ProfileField(StrEnum):
    LANGUAGE = "language"
    TIMEZONE = "timezone"
    LINK = "link"


class Answer(StrEnum):
    """What became of an ask."""

    GIVEN = "given"
    """The customer gave the field (a language, a zone; for ``link``: started linking)."""
    LATER = "later"
    """The customer pressed "Not now"."""


@dataclass(frozen=True, slots=True)
class ProfilePolicy:
    """What counts as a complete profile, and how the questions are offered."""

    fields: tuple[ProfileField, ...] = tuple(ProfileField)
    """The fields a complete profile has (and the only ones asked), in the order asked."""
    language_from_telegram: bool = False
    """Whether the language Telegram reports counts as the customer's language (else only
    their own choice does)."""
    zones: tuple[str, ...] = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore")
    """The time zones offered as buttons (besides "Type it")."""
    first_order_hours: int = 48
    """A first order recorded within this many hours still calls for the questions (the
    sweep runs with the playbook; an older first order is not a natural moment any more)."""
    target_percent: float = 95.0
    """SPEC §2: the share of active customers with a complete profile to aim at."""


@dataclass(frozen=True, slots=True)
class ProfileAsk:
    """One field asked of one customer: when, and what became of it (None: no answer yet)."""

    customer_id: int
    field: ProfileField
    asked_at: datetime
    answer: Answer | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProfileFacts:
    """What the report needs of one customer: the three fields present or not, and the tier."""

    tier: str
    language: str | None = None
    language_code: str | None = None
    timezone: str | None = None
    linked: bool = False


def has_field(facts: ProfileFacts, which: ProfileField, policy: ProfilePolicy) -> bool:
    """Whether `which` is present in the customer's profile."""
    if which is ProfileField.LANGUAGE:
        return bool(facts.language) or (
            policy.language_from_telegram and bool(facts.language_code)
        )
    if which is ProfileField.TIMEZONE:
        return valid_zone(facts.timezone or "") is not None
    return facts.linked


def facts_of(customer: Customer, tier: str = "") -> ProfileFacts:
    """The profile facts of a customer record (linked: a Telegram customer carrying the shop's
    reference; an imported record nobody has linked yet is not)."""
    return ProfileFacts(
        tier=tier,
        language=customer.language,
        language_code=customer.language_code,
        timezone=customer.timezone,
        linked=customer.customer_ref is not None and customer.telegram_user_id is not None,
    )


def missing(facts: ProfileFacts, policy: ProfilePolicy) -> list[ProfileField]:
    """The fields the profile lacks, in the order they are asked."""
    return [f for f in policy.fields if not has_field(facts, f, policy)]


def next_field(
    facts: ProfileFacts, policy: ProfilePolicy, asked: Collection[ProfileField]
) -> ProfileField | None:
    """The next field to ask: missing and never asked before; None when there is none."""
    return next((f for f in missing(facts, policy) if f not in asked), None)


@functools.cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def valid_zone(text: str) -> str | None:
    """The IANA zone `text` names (case aside, e.g. ``asia/taipei`` → ``Asia/Taipei``), or
    None when it names none."""
    cleaned = text.strip().replace(" ", "_")
    if not cleaned or len(cleaned) > 64:
        return None
    return _zones().get(cleaned.casefold())


def question(
    which: ProfileField,
    name: str,
    locales: Sequence[str],
    policy: ProfilePolicy,
    *,
    first: bool,
) -> Reply:
    """The polite question for `which`, with its buttons and "Not now". The `first` question
    of a round says why we ask; the next ones just ask."""
    later = (Button("profile.button.later", LATER_DATA),)
    params = {"name": name, "first": first}
    if which is ProfileField.LANGUAGE:
        rows = tuple(
            (Button(f"language.name.{locale}", f"{LANGUAGE_DATA}{locale}"),) for locale in locales
        )
        return Reply("profile.ask.language", params, buttons=(*rows, later))
    if which is ProfileField.TIMEZONE:
        return Reply("profile.ask.timezone", params, buttons=zone_buttons(policy))
    link = (Button("profile.button.link", LINK_DATA),)
    return Reply("profile.ask.link", params, buttons=(link, later))


def zone_buttons(policy: ProfilePolicy) -> tuple[tuple[Button, ...], ...]:
    """The time-zone question's buttons: the configured zones, "Type it" and "Not now"."""
    zones = tuple(
        (Button("profile.button.zone", f"{ZONE_DATA}{zone}", {"zone": zone}),)
        for zone in policy.zones
    )
    typed = (Button("profile.button.type_zone", TYPE_ZONE_DATA),)
    return (*zones, typed, (Button("profile.button.later", LATER_DATA),))


def may_be_zone(text: str) -> bool:
    """Whether a text typed after "Type it" is an attempt at a zone (a short answer) rather
    than something else on the customer's mind (a question, a sentence)."""
    cleaned = text.strip()
    return (
        0 < len(cleaned) <= 64
        and len(cleaned.split()) <= 3
        and not any(mark in cleaned for mark in "?？")
    )


@dataclass(frozen=True, slots=True)
class Press:
    """A profile button, parsed: which field it answers and with what (None: "Not now" or
    "Type it", which carry no value)."""

    field: ProfileField | None
    value: str | None = None
    type_zone: bool = False


def parse(data: str) -> Press | None:
    """The press behind a ``pf:`` button's data; None when it is not one."""
    if data == LATER_DATA:
        return Press(None)
    if data == TYPE_ZONE_DATA:
        return Press(ProfileField.TIMEZONE, type_zone=True)
    if data == LINK_DATA:
        return Press(ProfileField.LINK)
    if data.startswith(LANGUAGE_DATA):
        return Press(ProfileField.LANGUAGE, data.removeprefix(LANGUAGE_DATA))
    if data.startswith(ZONE_DATA):
        return Press(ProfileField.TIMEZONE, data.removeprefix(ZONE_DATA))
    return None


def typing_zone(chat_id: int, now: datetime) -> Conversation:
    """The dialogue state after "Type it": the next text is the customer's time zone."""
    return Conversation(chat_id=chat_id, flow=FLOW, step=TYPING_ZONE, updated_at=now)


def is_typing_zone(conversation: Conversation | None) -> bool:
    return (
        conversation is not None and conversation.flow == FLOW and conversation.step == TYPING_ZONE
    )


@dataclass(slots=True)
class Completeness:
    """Profile completeness of a group of active customers (all, or one tier)."""

    group: str
    customers: int = 0
    complete: int = 0
    present: dict[ProfileField, int] = field(default_factory=dict)

    def share(self, count: int) -> float | None:
        """`count` as a percentage of the group (one decimal); None for an empty group."""
        return round(100 * count / self.customers, 1) if self.customers else None

    def gap(self, target: float) -> float | None:
        """Percentage points between the complete share and `target` (0 when met)."""
        share = self.share(self.complete)
        return None if share is None else round(max(0.0, target - share), 1)


TIER_ORDER = ("high", "mid", "base", "prospect")


def completeness(
    customers: Sequence[ProfileFacts], policy: ProfilePolicy
) -> tuple[Completeness, list[Completeness]]:
    """The completeness of all `customers` and per tier (high, mid, base, prospect, then any
    other tier in name order; tiers with no customer left out)."""
    total = Completeness("all", present={f: 0 for f in policy.fields})
    tiers: dict[str, Completeness] = {}
    for facts in customers:
        group = tiers.setdefault(
            facts.tier, Completeness(facts.tier, present={f: 0 for f in policy.fields})
        )
        lacking = missing(facts, policy)
        for each in (total, group):
            each.customers += 1
            each.complete += not lacking
            for f in policy.fields:
                each.present[f] += f not in lacking
    order = {tier: n for n, tier in enumerate(TIER_ORDER)}
    ranked = sorted(tiers.values(), key=lambda c: (order.get(c.group, len(order)), c.group))
    return total, ranked
