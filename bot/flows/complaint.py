"""The complaint dialogue, as a pure state machine over a stored `Conversation`.

    (triage says "complaint", or /complaint <text>)          (/complaint alone, or "No")
                   │                                                    │
                   ▼                                                    ▼
    CONFIRM  "Sorry … you are reporting X — right?" ◄── text ── DESCRIBE "tell me what happened"
       │ Yes                                   │ No ──────────────────────▲
       ▼
    ORDER  "order number?"  ── text that is an order number / Skip ──► PHOTOS "send photos"
                                                                          │ Done / Skip
                                                                          ▼
                                                                   a ticket is opened

Everything the dialogue has gathered (the customer's words, the triage verdict, the order
number, photo file ids) is in the conversation's data, so a restart or another worker picks
it up where it stopped.

The transitions are one pure function, :func:`step`: ``(step, draft, event) → Transition``
(the next state, what to ask, whether to open the ticket). The handlers in
:mod:`bot.handlers.complaints` turn an update into an event, store the new state, and word
the prompt; they decide nothing about the dialogue themselves.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.core.models import Conversation
from bot.core.triage import Severity, TriageDecision

FLOW = "complaint"
PREFIX = "cp:"
MAX_ATTACHMENTS = 10

_ORDER = re.compile(
    r"^\s*(?:order\s*|no\.?\s*|订单号?\s*|訂單號?\s*|#\s*)?([A-Za-z0-9][A-Za-z0-9_-]{2,31})\s*$",
    re.I,
)


class Step(StrEnum):
    DESCRIBE = "describe"
    CONFIRM = "confirm"
    ORDER = "order"
    PHOTOS = "photos"


class ButtonAction(StrEnum):
    YES = "yes"
    NO = "no"
    SKIP = "skip"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Draft:
    """A complaint being taken down."""

    text: str = ""
    severity: Severity = Severity.GENERAL
    category: str | None = None
    summary: str | None = None
    negativity: float = 0.0
    signals: tuple[str, ...] = ()
    order_ref: str | None = None
    attachments: tuple[str, ...] = field(default_factory=tuple)

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["signals"] = list(self.signals)
        data["attachments"] = list(self.attachments)
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        return cls(
            text=str(data.get("text", "")),
            severity=_severity(data.get("severity")),
            category=data.get("category"),
            summary=data.get("summary"),
            negativity=float(data.get("negativity", 0.0)),
            signals=tuple(str(s) for s in data.get("signals", ())),
            order_ref=data.get("order_ref"),
            attachments=tuple(str(a) for a in data.get("attachments", ())),
        )


def _severity(value: object) -> Severity:
    try:
        return Severity(str(value))
    except ValueError:
        return Severity.GENERAL


def at(chat_id: int, step: Step, draft: Draft, now: datetime) -> Conversation:
    return Conversation(
        chat_id=chat_id, flow=FLOW, step=step.value, updated_at=now, data=draft.as_data()
    )


def current(conversation: Conversation | None) -> tuple[Step, Draft] | None:
    """Where this chat's complaint dialogue stands, if one is under way."""
    if conversation is None or conversation.flow != FLOW:
        return None
    try:
        step = Step(conversation.step)
    except ValueError:
        return None
    return step, Draft.from_data(conversation.data)


def with_text(draft: Draft, text: str) -> Draft:
    """More words from the customer are kept with what they said before."""
    combined = f"{draft.text}\n{text}".strip() if draft.text else text
    return replace(draft, text=combined[:4000])


def with_attachment(draft: Draft, file_id: str) -> Draft:
    if file_id in draft.attachments or len(draft.attachments) >= MAX_ATTACHMENTS:
        return draft
    return replace(draft, attachments=(*draft.attachments, file_id))


def parse_order_ref(text: str) -> str | None:
    """An order number as customers type it ("#10234", "order 10234", "订单号 A-77"), or
    None when the text does not look like one (it must contain a digit)."""
    found = _ORDER.match(text)
    if found is None or not any(ch.isdigit() for ch in found.group(1)):
        return None
    return found.group(1).upper()


def button_data(action: ButtonAction) -> str:
    return f"{PREFIX}{action.value}"


def parse_button(data: str) -> ButtonAction | None:
    if not data.startswith(PREFIX):
        return None
    try:
        return ButtonAction(data.removeprefix(PREFIX))
    except ValueError:
        return None


def draft_from(decision: TriageDecision, text: str, earlier: Draft | None = None) -> Draft:
    """A complaint draft from a triage verdict; something the customer chose to report is a
    complaint of at least severity general, whatever the words."""
    base = earlier or Draft()
    return Draft(
        text=with_text(base, text).text,
        severity=decision.severity or Severity.GENERAL,
        category=decision.category or base.category,
        summary=decision.summary or base.summary,
        negativity=decision.negativity,
        signals=tuple(str(s.term) for s in decision.signals if s.kind != "negativity"),
        order_ref=base.order_ref,
        attachments=base.attachments,
    )


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Said:
    """The customer wrote `text`; `decision` is triage's reading of it."""

    text: str
    decision: TriageDecision


@dataclass(frozen=True, slots=True)
class Attached:
    """The customer sent a photo or file (its file id, if any), perhaps with a caption."""

    file_id: str | None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Pressed:
    action: ButtonAction


Event = Said | Attached | Pressed


class Prompt(StrEnum):
    """What the bot says next (the handler words it from templates)."""

    CONFIRM = "confirm"
    ASK_DESCRIPTION = "ask_description"
    ASK_ORDER = "ask_order"
    ORDER_INVALID = "order_invalid"
    ASK_PHOTOS = "ask_photos"
    NOTED = "noted"
    PHOTO_RECEIVED = "photo_received"
    OPENED = "opened"
    """The ticket is opened; the ticket service words the answer."""
    EXPIRED = "expired"
    """A button that no longer fits the dialogue."""


@dataclass(frozen=True, slots=True)
class Transition:
    step: Step | None
    """Where the dialogue stands next; None: it is over (the ticket is opened)."""
    draft: Draft
    prompt: Prompt
    close_buttons: bool = False
    """The pressed message's buttons are spent: replace them with a short "done" note."""
    changed: bool = True
    """False when the stored state stays as it is (nothing to write)."""

    @property
    def opens_ticket(self) -> bool:
        return self.prompt is Prompt.OPENED


def begin(event: Said | None) -> Transition:
    """A new complaint: from words triage read (confirm them), or from nothing (ask)."""
    if event is None:
        return Transition(Step.DESCRIBE, Draft(), Prompt.ASK_DESCRIPTION)
    return Transition(Step.CONFIRM, draft_from(event.decision, event.text), Prompt.CONFIRM)


def step(at_step: Step, draft: Draft, event: Event) -> Transition:
    """The complaint dialogue's every move."""
    match event:
        case Said(text, decision):
            return _said(at_step, draft, text.strip(), decision)
        case Attached(file_id, caption):
            if file_id:
                draft = with_attachment(draft, file_id)
            if caption:
                draft = with_text(draft, caption)
            if at_step in (Step.ORDER, Step.PHOTOS):
                return Transition(Step.PHOTOS, draft, Prompt.PHOTO_RECEIVED)
            return Transition(Step.CONFIRM, draft, Prompt.CONFIRM)
        case Pressed(action):
            return _pressed(at_step, draft, action)


def _said(at_step: Step, draft: Draft, text: str, decision: TriageDecision) -> Transition:
    if at_step in (Step.DESCRIBE, Step.CONFIRM):
        return Transition(Step.CONFIRM, draft_from(decision, text, draft), Prompt.CONFIRM)
    if at_step is Step.ORDER:
        order_ref = parse_order_ref(text)
        if order_ref is None:
            return Transition(Step.ORDER, draft, Prompt.ORDER_INVALID, changed=False)
        return Transition(Step.PHOTOS, replace(draft, order_ref=order_ref), Prompt.ASK_PHOTOS)
    return Transition(Step.PHOTOS, with_text(draft, text), Prompt.NOTED)


def _pressed(at_step: Step, draft: Draft, action: ButtonAction) -> Transition:
    match at_step, action:
        case Step.CONFIRM, ButtonAction.YES:
            return Transition(Step.ORDER, draft, Prompt.ASK_ORDER, close_buttons=True)
        case Step.CONFIRM, ButtonAction.NO:
            return Transition(Step.DESCRIBE, draft, Prompt.ASK_DESCRIPTION, close_buttons=True)
        case Step.ORDER, ButtonAction.SKIP:
            return Transition(Step.PHOTOS, draft, Prompt.ASK_PHOTOS, close_buttons=True)
        case Step.PHOTOS, ButtonAction.DONE | ButtonAction.SKIP:
            return Transition(None, draft, Prompt.OPENED, close_buttons=True)
    return Transition(at_step, draft, Prompt.EXPIRED, changed=False)
