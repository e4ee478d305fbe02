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
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.core.models import Conversation

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
    severity: str = "general"
    category: str | None = None
    summary: str | None = None
    negativity: float = 0.0
    signals: tuple[str, ...] = ()
    order_ref: str | None = None
    attachments: tuple[str, ...] = field(default_factory=tuple)

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["signals"] = list(self.signals)
        data["attachments"] = list(self.attachments)
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        return cls(
            text=str(data.get("text", "")),
            severity=str(data.get("severity", "general")),
            category=data.get("category"),
            summary=data.get("summary"),
            negativity=float(data.get("negativity", 0.0)),
            signals=tuple(str(s) for s in data.get("signals", ())),
            order_ref=data.get("order_ref"),
            attachments=tuple(str(a) for a in data.get("attachments", ())),
        )


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
