"""What a campaign is, the states it moves through, and who it reaches (pure rules).

A :class:`CampaignSpec` is what marketing writes: a name, a :class:`CampaignAudience`, a
:class:`LocaleMessage` per locale, an optional coupon (the playbook's
:class:`~bot.core.engagement.playbook.CouponSpec`), a holdout share and a :class:`Schedule`.
A :class:`Campaign` is a stored spec with its state, its holdout seed and its current run.

States (:class:`CampaignState`)::

    draft ──schedule──► scheduled ──(due: the job starts a run)──► running ──► done
                          ▲   │                                   │  ▲
                          │   └──pause──► paused ◄──pause─────────┘  │
                          │                 └──resume──► scheduled/running
                          └──(a recurring campaign's run ends: its next run is scheduled)
    every state but done and cancelled ──cancel──► cancelled

A run freezes its audience into :class:`Recipient` rows (:class:`RecipientStatus` says what
became of each); holdout customers are drawn by :func:`in_holdout` from the campaign's seed,
so the draw is recorded and repeatable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.engagement.evaluate import in_audience
from bot.core.engagement.facts import CustomerFacts
from bot.core.engagement.playbook import Audience, CouponSpec

MAX_HOLDOUT = 0.5
"""The largest holdout share marketing may choose (half the audience)."""
KEY_PREFIX = "campaign:"
"""Outbox keys of campaign messages: ``campaign:<campaign>:<run>:<customer>``."""


class CampaignError(ValueError):
    """A request the campaign's rules refuse; the message names the field or the state."""


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SCHEDULE = "schedule"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class ScheduleKind(StrEnum):
    NOW = "now"
    AT = "at"
    CRON = "cron"


class Combine(StrEnum):
    """How the clauses of an audience combine."""

    ALL = "and"
    ANY = "or"


@dataclass(frozen=True, slots=True)
class Schedule:
    """``now``; ``at`` a UTC moment (entered in `timezone`); or every moment a five-field
    `cron` expression names in `timezone` (see :mod:`bot.core.campaigns.cron`)."""

    kind: ScheduleKind = ScheduleKind.NOW
    at: datetime | None = None
    cron: str | None = None
    timezone: str = "UTC"

    @property
    def recurring(self) -> bool:
        return self.kind is ScheduleKind.CRON


@dataclass(frozen=True, slots=True)
class LinkButton:
    """A button that opens `url`; its `label` is the text shown (written by marketing)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class LocaleMessage:
    """The message for one locale: plain `text` (``{name}`` becomes the customer's first
    name; a template file's content is read into it when the campaign is created) or a
    template `template` key; and link buttons, one per row."""

    text: str | None = None
    template: str | None = None
    buttons: tuple[LinkButton, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignAudience:
    """Clauses of the playbook's audience (within a field any value, across fields all),
    combined with ``and`` or ``or``; `consent` True keeps only customers who agreed to
    marketing, False only those who did not (None: both; the guards still refuse to send
    marketing to those who did not)."""

    clauses: tuple[Audience, ...] = (Audience(),)
    combine: Combine = Combine.ALL
    consent: bool | None = None

    def admits(self, facts: CustomerFacts, locale: str) -> bool:
        if self.consent is not None and facts.consent != self.consent:
            return False
        matches = (in_audience(clause, facts, locale) for clause in self.clauses)
        return all(matches) if self.combine is Combine.ALL else any(matches)


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """What marketing asks for. :func:`check_spec` says what is wrong with one."""

    name: str
    audience: CampaignAudience
    messages: Mapping[str, LocaleMessage]
    schedule: Schedule = field(default_factory=Schedule)
    coupon: CouponSpec | None = None
    holdout: float = 0.0
    """Share of the audience (0–0.5) that receives nothing, to measure the uplift against."""


@dataclass(slots=True)
class Campaign:
    """A stored campaign. `run` counts the runs started (0: none yet); `frozen` says whether
    the current run's audience is frozen completely (`cursor`: the last customer id frozen
    so far, for a restart half-way)."""

    spec: CampaignSpec
    state: CampaignState
    seed: int
    created_at: datetime
    created_by: str
    next_run_at: datetime | None = None
    run: int = 0
    run_started_at: datetime | None = None
    cursor: int = 0
    frozen: bool = True
    id: int | None = None


class RecipientStatus(StrEnum):
    """What became of one customer of a run's frozen audience."""

    PENDING = "pending"
    """Frozen, not decided yet (or held while the campaign is paused)."""
    HOLDOUT = "holdout"
    """Drawn into the holdout: never sent (the guards are still asked, to compare like with
    like; their verdict is kept in `reason`)."""
    QUEUED = "queued"
    """Written to the outbox (what Telegram made of it is the outbox row's state)."""
    NO_CONSENT = "no_consent"
    CAP = "cap"
    UNREACHABLE = "unreachable"
    """Blocked the bot, chat gone, or no chat with the bot (`reason` says which)."""
    UNWORDED = "unworded"
    """Its message could not be rendered (a template missing in the locale)."""
    CANCELLED = "cancelled"


@dataclass(slots=True)
class Recipient:
    campaign_id: int
    run: int
    customer_id: int
    holdout: bool
    status: RecipientStatus = RecipientStatus.PENDING
    reason: str = ""
    held: bool = False
    """Sent later than decided because of the quiet hours."""
    not_before: datetime | None = None
    """When the message goes (or, for the holdout, would have gone) out."""
    decided_at: datetime | None = None


_MOVES: dict[tuple[CampaignState, Action], CampaignState] = {
    (CampaignState.DRAFT, Action.SCHEDULE): CampaignState.SCHEDULED,
    (CampaignState.SCHEDULED, Action.PAUSE): CampaignState.PAUSED,
    (CampaignState.RUNNING, Action.PAUSE): CampaignState.PAUSED,
}


def move(campaign: Campaign, action: Action) -> CampaignState:
    """The state `action` takes the campaign to; raises :class:`CampaignError` when the
    action does not apply. ``resume`` goes back to running when a run is unfinished, else
    to scheduled; ``cancel`` applies to every state but done and cancelled."""
    state = campaign.state
    if action is Action.CANCEL:
        if state in (CampaignState.DONE, CampaignState.CANCELLED):
            raise CampaignError(f"campaign {campaign.id} is {state.value}; it cannot be cancelled")
        return CampaignState.CANCELLED
    if action is Action.RESUME:
        if state is not CampaignState.PAUSED:
            raise CampaignError(f"campaign {campaign.id} is {state.value}, not paused")
        unfinished = campaign.run > 0 and (campaign.run_started_at is not None)
        return CampaignState.RUNNING if unfinished else CampaignState.SCHEDULED
    target = _MOVES.get((state, action))
    if target is None:
        raise CampaignError(
            f"campaign {campaign.id} is {state.value}; {action.value} does not apply"
        )
    return target


def in_holdout(seed: int, customer_id: int, share: float) -> bool:
    """Whether the customer is in the holdout: a uniform draw in [0, 1) from a hash of the
    campaign's seed and the customer's id, below `share`. The same seed and customer always
    draw the same (every run of a recurring campaign keeps the same holdout)."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def recipient_key(campaign_id: int, run: int, customer_id: int) -> str:
    """The outbox idempotency key of one run's message to one customer."""
    return f"{KEY_PREFIX}{campaign_id}:{run}:{customer_id}"


CANCELLED_REASON = "campaign cancelled"
"""``last_error`` of a campaign's outbox row that its cancel kept from going."""


def key_prefix(campaign_id: int) -> str:
    """Every outbox key of a campaign starts with this (its coupons' references too)."""
    return f"{KEY_PREFIX}{campaign_id}:"


def check_spec(spec: CampaignSpec, locales: tuple[str, ...], default_locale: str) -> None:
    """Raises :class:`CampaignError` naming the first field that is wrong: the name, a
    message (none for the default locale, an unknown locale, neither or both of text and
    template, a button without an https or http URL), the holdout share, the schedule."""
    if not spec.name.strip() or len(spec.name) > 120:
        raise CampaignError("name: 1 to 120 characters")
    if default_locale not in spec.messages:
        raise CampaignError(f"message: there must be one for the default locale {default_locale}")
    for locale, message in spec.messages.items():
        if locale not in locales:
            raise CampaignError(
                f"message.{locale}: unknown locale; use one of {', '.join(locales)}"
            )
        if (message.text is None) == (message.template is None):
            raise CampaignError(f"message.{locale}: give exactly one of text and template")
        if message.text is not None and not message.text.strip():
            raise CampaignError(f"message.{locale}.text: is empty")
        for n, button in enumerate(message.buttons, start=1):
            if not button.label.strip():
                raise CampaignError(f"message.{locale}.buttons[{n}].label: is empty")
            if not button.url.startswith(("https://", "http://")) or len(button.url) > 2048:
                raise CampaignError(
                    f"message.{locale}.buttons[{n}].url: must be an http(s) address"
                )
    if not 0 <= spec.holdout <= MAX_HOLDOUT:
        raise CampaignError(f"holdout: must be from 0 to {MAX_HOLDOUT:.0%}")
    if spec.coupon is not None and spec.coupon.valid_days < 1:
        raise CampaignError("coupon.valid_days: at least 1")
    schedule = spec.schedule
    if schedule.kind is ScheduleKind.AT and schedule.at is None:
        raise CampaignError("schedule.at: a time is needed")
    if schedule.kind is ScheduleKind.CRON and not schedule.cron:
        raise CampaignError("schedule.cron: an expression is needed")
