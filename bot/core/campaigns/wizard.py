"""The ``/campaign`` wizard's steps, as pure functions over a stored state (issue #11).

    AUDIENCE ─Next→ MESSAGE (one per locale; "same as English") ─→ LINK ─→ COUPON ─→ HOLDOUT
        ─→ SCHEDULE (Now, or a typed date-time) ─→ PREVIEW (a draft is stored; Test; Confirm)

Every step has Back and Cancel; a typed answer that does not parse gets a correction naming
what was wrong, and the same step again. :func:`advance` is the one transition:
``(state, event) → Transition`` (the next state — None once the wizard ends —, a correction,
and an :class:`Effect` the service carries out: store the draft on entering the preview,
discard it on leaving it, test-send it, schedule it). The state is plain JSON
(:meth:`WizardState.as_data`), kept in the staff member's :class:`~bot.core.models.Conversation`
row, so a restart mid-wizard continues where it stopped.

Buttons carry ``cw:<step>:<verb>[:<arg>]``: a button of another step than the current one (an
old message) is stale and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.campaigns.model import (
    CampaignAudience,
    CampaignSpec,
    LinkButton,
    LocaleMessage,
    Schedule,
    ScheduleKind,
)
from bot.core.engagement.playbook import Audience, CouponKind, CouponSpec
from bot.core.html_text import TELEGRAM_TEXT_LIMIT
from bot.core.policies import CampaignWizardPolicy
from bot.core.tiers import Lifecycle, Tier

FLOW = "campaign_wizard"
PREFIX = "cw:"
NAME_LENGTH = 60
"""A campaign made in the wizard is named after the first words of its default text."""
LABEL_LENGTH = 64
_WHEN = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})(?:\s+(\S+))?\s*$")


class Step(StrEnum):
    AUDIENCE = "audience"
    MESSAGE = "message"
    LINK = "link"
    COUPON = "coupon"
    HOLDOUT = "holdout"
    SCHEDULE = "schedule"
    PREVIEW = "preview"


_ORDER = list(Step)


class Effect(StrEnum):
    NONE = "none"
    STORE_DRAFT = "store_draft"
    """Entering the preview: store the campaign as a draft (its id goes into the state)."""
    DISCARD_DRAFT = "discard_draft"
    """Leaving the preview (Back, Cancel): the stored draft is cancelled."""
    TEST = "test"
    CONFIRM = "confirm"
    """Schedule the draft; the wizard ends."""


@dataclass(frozen=True, slots=True)
class WizardState:
    """Everything chosen so far. `texts` holds a text per locale asked about (None: the
    default locale's text stands in); `link` a ``(label, url)``; `coupon` the coupon's data
    (None: no coupon); `at` the UTC moment to send (None: now) typed in `zone`."""

    step: Step = Step.AUDIENCE
    tiers: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    consent: bool = True
    texts: dict[str, str | None] = field(default_factory=dict)
    link: tuple[str, str] | None = None
    coupon: dict[str, Any] | None = None
    holdout: int = 0
    at: datetime | None = None
    zone: str = "UTC"
    draft_id: int | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "step": self.step.value,
            "tiers": list(self.tiers),
            "stages": list(self.stages),
            "languages": list(self.languages),
            "consent": self.consent,
            "texts": dict(self.texts),
            "link": list(self.link) if self.link else None,
            "coupon": self.coupon,
            "holdout": self.holdout,
            "at": self.at.isoformat() if self.at else None,
            "zone": self.zone,
            "draft_id": self.draft_id,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> WizardState:
        link = data.get("link")
        at = data.get("at")
        return cls(
            step=Step(data.get("step", Step.AUDIENCE.value)),
            tiers=tuple(data.get("tiers", ())),
            stages=tuple(data.get("stages", ())),
            languages=tuple(data.get("languages", ())),
            consent=bool(data.get("consent", True)),
            texts=dict(data.get("texts", {})),
            link=(str(link[0]), str(link[1])) if link else None,
            coupon=data.get("coupon"),
            holdout=int(data.get("holdout", 0)),
            at=datetime.fromisoformat(at) if at else None,
            zone=str(data.get("zone", "UTC")),
            draft_id=data.get("draft_id"),
        )

    def asking(self, locales: Sequence[str]) -> str | None:
        """The locale whose message the MESSAGE step asks for (None: all are written)."""
        return next((loc for loc in locales if loc not in self.texts), None)


@dataclass(frozen=True, slots=True)
class Press:
    """A wizard button: ``cw:<step>:<verb>[:<arg>]``."""

    step: str
    verb: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Typed:
    text: str


Event = Press | Typed


@dataclass(frozen=True, slots=True)
class Transition:
    state: WizardState | None
    """None: the wizard has ended (cancelled or confirmed)."""
    effect: Effect = Effect.NONE
    correction: str | None = None
    """A template key (``campaign_wizard.fix.*``) saying what was wrong with the answer."""
    params: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
    """A button of another step than the current one: nothing changed."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the transitions need to know about the deployment."""

    locales: tuple[str, ...]
    default_locale: str
    zone: str
    """The time zone a typed date-time without one is read in."""
    now: datetime
    policy: CampaignWizardPolicy


def button(step: Step, verb: str, arg: str = "") -> str:
    return f"{PREFIX}{step.value}:{verb}" + (f":{arg}" if arg else "")


def parse_button(data: str) -> Press | None:
    parts = data.removeprefix(PREFIX).split(":", 2)
    if not data.startswith(PREFIX) or len(parts) < 2:
        return None
    return Press(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def start(zone: str) -> WizardState:
    return WizardState(zone=zone)


# --- typed answers ------------------------------------------------------------------------


def parse_link(text: str) -> tuple[str, str] | None:
    """``Shop now https://shop.example/spring`` → ``("Shop now", "https://…")``: the address
    is the last word, the label what comes before it."""
    label, _, url = text.strip().rpartition(" ")
    label = label.strip()
    if not label or len(label) > LABEL_LENGTH or len(url) > 2048:
        return None
    if not url.startswith(("https://", "http://")) or len(url) <= len("https://"):
        return None
    return label, url


def parse_when(text: str, zone: str, now: datetime) -> tuple[datetime, str] | tuple[str, str]:
    """A typed date-time: ``2026-12-24 10:00`` in `zone`, or ``2026-12-24 10:00
    Asia/Shanghai`` in the named zone. Returns ``(the UTC moment, the zone)``, or ``(the
    correction's key, what to name in it)`` when it does not parse, names no zone, or has
    passed."""
    found = _WHEN.match(text)
    if found is None:
        return "campaign_wizard.fix.when_format", text.strip()[:40]
    day, clock, named = found.groups()
    zone_name = named or zone
    try:
        tz = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return "campaign_wizard.fix.when_zone", zone_name[:40]
    try:
        local = datetime.fromisoformat(f"{day}T{int(clock[:-3]):02d}:{clock[-2:]}")
    except ValueError:
        return "campaign_wizard.fix.when_format", text.strip()[:40]
    moment = local.replace(tzinfo=tz).astimezone(UTC)
    if moment <= now:
        return "campaign_wizard.fix.when_past", f"{day} {clock} {zone_name}"
    return moment, zone_name


# --- the transitions ----------------------------------------------------------------------


def _toggled(values: tuple[str, ...], value: str) -> tuple[str, ...]:
    return tuple(v for v in values if v != value) if value in values else (*values, value)


def _toggle(state: WizardState, arg: str, ctx: Context) -> WizardState | None:
    kind, _, value = arg.partition(".")
    if kind == "tier" and value in {t.value for t in Tier}:
        return replace(state, tiers=_toggled(state.tiers, value))
    if kind == "stage" and value in {s.value for s in Lifecycle}:
        return replace(state, stages=_toggled(state.stages, value))
    if kind == "lang" and value in ctx.locales:
        return replace(state, languages=_toggled(state.languages, value))
    if kind == "consent":
        return replace(state, consent=not state.consent)
    return None


def _back(state: WizardState, ctx: Context) -> Transition:
    """One step back; within the messages, one locale back."""
    if state.step is Step.PREVIEW:
        return Transition(replace(state, step=Step.SCHEDULE, draft_id=None), Effect.DISCARD_DRAFT)
    if state.step in (Step.MESSAGE, Step.LINK) and state.texts:
        last = list(state.texts)[-1]
        texts = {k: v for k, v in state.texts.items() if k != last}
        return Transition(replace(state, step=Step.MESSAGE, texts=texts))
    index = _ORDER.index(state.step)
    return Transition(replace(state, step=_ORDER[max(index - 1, 0)]))


_NO_COUPON: dict[str, Any] = {}


def _coupon(arg: str, policy: CampaignWizardPolicy) -> dict[str, Any] | None:
    """The coupon a coupon button names (``_NO_COUPON``: none), or None when the button names
    no preset (an old or forged button)."""
    kind, _, raw = arg.partition(".")
    if kind == "none":
        return _NO_COUPON
    days = policy.coupon_valid_days
    if kind == CouponKind.FREE_SHIPPING.value:
        return {"kind": kind, "value": None, "valid_days": days}
    presets = {
        CouponKind.PERCENT.value: policy.percent_presets,
        CouponKind.FIXED.value: policy.fixed_presets_cents,
    }.get(kind, ())
    if raw.isdigit() and int(raw) in presets:
        return {"kind": kind, "value": int(raw), "valid_days": days}
    return None


def _press(state: WizardState, press: Press, ctx: Context) -> Transition:
    step = state.step
    if press.verb == "cancel":
        return Transition(None, Effect.DISCARD_DRAFT if state.draft_id else Effect.NONE)
    if press.verb == "back":
        return _back(state, ctx)
    if step is Step.AUDIENCE and press.verb == "t":
        toggled = _toggle(state, press.arg, ctx)
        return Transition(toggled) if toggled else Transition(state, stale=True)
    if step is Step.AUDIENCE and press.verb == "next":
        return Transition(replace(state, step=Step.MESSAGE))
    if step is Step.MESSAGE and press.verb == "same":
        asking = state.asking(ctx.locales)
        if asking is None or asking == ctx.default_locale:
            return Transition(state, stale=True)
        return _message_written(state, asking, None, ctx)
    if step is Step.LINK and press.verb == "nolink":
        return Transition(replace(state, step=Step.COUPON, link=None))
    if step is Step.COUPON and press.verb == "coupon":
        coupon = _coupon(press.arg, ctx.policy)
        if coupon is None:
            return Transition(state, stale=True)
        return Transition(replace(state, step=Step.HOLDOUT, coupon=coupon or None))
    if step is Step.HOLDOUT and press.verb == "holdout":
        if not press.arg.isdigit() or int(press.arg) not in ctx.policy.holdout_presets:
            return Transition(state, stale=True)
        return Transition(replace(state, step=Step.SCHEDULE, holdout=int(press.arg)))
    if step is Step.SCHEDULE and press.verb == "now":
        return Transition(replace(state, step=Step.PREVIEW, at=None), Effect.STORE_DRAFT)
    if step is Step.PREVIEW and press.verb == "test":
        return Transition(state, Effect.TEST)
    if step is Step.PREVIEW and press.verb == "confirm":
        return Transition(None, Effect.CONFIRM)
    return Transition(state, stale=True)


def _message_written(
    state: WizardState, locale: str, text: str | None, ctx: Context
) -> Transition:
    texts = {**state.texts, locale: text}
    done = replace(state, texts=texts)
    return Transition(replace(done, step=Step.MESSAGE if done.asking(ctx.locales) else Step.LINK))


def _typed(state: WizardState, text: str, ctx: Context) -> Transition:
    step = state.step
    if step is Step.MESSAGE:
        asking = state.asking(ctx.locales)
        if asking is None:
            return Transition(replace(state, step=Step.LINK))
        if not text.strip():
            return Transition(state, correction="campaign_wizard.fix.empty")
        if len(text) > TELEGRAM_TEXT_LIMIT // 2:
            return Transition(
                state,
                correction="campaign_wizard.fix.too_long",
                params={"limit": TELEGRAM_TEXT_LIMIT // 2, "length": len(text)},
            )
        return _message_written(state, asking, text.strip(), ctx)
    if step is Step.LINK:
        link = parse_link(text)
        if link is None:
            return Transition(state, correction="campaign_wizard.fix.link")
        return Transition(replace(state, step=Step.COUPON, link=link))
    if step is Step.SCHEDULE:
        parsed = parse_when(text, state.zone, ctx.now)
        if isinstance(parsed[0], str):
            return Transition(state, correction=parsed[0], params={"typed": parsed[1]})
        at, zone = parsed
        return Transition(replace(state, step=Step.PREVIEW, at=at, zone=zone), Effect.STORE_DRAFT)
    return Transition(state, correction="campaign_wizard.fix.use_buttons")


def advance(state: WizardState, event: Event, ctx: Context) -> Transition:
    """The wizard's one transition (see the module docstring)."""
    if isinstance(event, Typed):
        return _typed(state, event.text, ctx)
    if event.step != state.step.value:
        return Transition(state, stale=True)
    return _press(state, event, ctx)


# --- the campaign it describes ------------------------------------------------------------


def audience_of(state: WizardState) -> CampaignAudience:
    clause = Audience(
        tiers=frozenset(Tier(t) for t in state.tiers),
        stages=frozenset(Lifecycle(s) for s in state.stages),
        languages=frozenset(state.languages),
    )
    return CampaignAudience((clause,), consent=True if state.consent else None)


def spec_of(state: WizardState, default_locale: str) -> CampaignSpec:
    """The campaign the wizard's answers describe: named after its default text's first
    words; each written locale's text (a locale left to the default text has none, so the
    default's stands in) with the link button; the coupon, holdout and schedule chosen."""
    buttons = (LinkButton(*state.link),) if state.link else ()
    messages = {
        locale: LocaleMessage(text=text, buttons=buttons)
        for locale, text in state.texts.items()
        if text is not None
    }
    default_text = state.texts.get(default_locale) or ""
    words = default_text.replace("{name}", "…").strip()
    first_line = words.splitlines()[0] if words else "campaign"
    name = first_line if len(first_line) <= NAME_LENGTH else first_line[: NAME_LENGTH - 1] + "…"
    coupon = state.coupon
    return CampaignSpec(
        name=name,
        audience=audience_of(state),
        messages=messages,
        schedule=Schedule(ScheduleKind.AT, at=state.at, timezone=state.zone)
        if state.at
        else Schedule(),
        coupon=None
        if coupon is None
        else CouponSpec(CouponKind(coupon["kind"]), coupon.get("value"), 0, coupon["valid_days"]),
        holdout=state.holdout / 100,
    )
