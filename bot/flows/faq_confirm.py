"""Confirm-first FAQ: a borderline match asks "Do you mean …?" before answering.

State: ``awaiting_choice`` with the FAQ entry offered and the customer's own words, kept so
that a "No" can be handed to a person with what the customer actually asked, even after a
restart or on another worker. Button payloads carry the entry id too, so a press on an old
message still works when the state has moved on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.core.models import Conversation

FLOW = "faq_confirm"
AWAITING_CHOICE = "awaiting_choice"
PREFIX = "faq:"

Choice = Literal["yes", "no"]


@dataclass(frozen=True, slots=True)
class Pending:
    entry_id: str
    question: str


def begin(chat_id: int, entry_id: str, question: str, now: datetime) -> Conversation:
    return Conversation(
        chat_id=chat_id,
        flow=FLOW,
        step=AWAITING_CHOICE,
        updated_at=now,
        data={"entry_id": entry_id, "question": question},
    )


def pending(conversation: Conversation | None) -> Pending | None:
    """The open confirmation in this chat, if the dialogue is at that step."""
    if conversation is None or conversation.flow != FLOW or conversation.step != AWAITING_CHOICE:
        return None
    data = conversation.data
    entry_id, question = data.get("entry_id"), data.get("question")
    if not isinstance(entry_id, str) or not isinstance(question, str):
        return None
    return Pending(entry_id=entry_id, question=question)


def button_data(choice: Choice, entry_id: str) -> str:
    return f"{PREFIX}{choice}:{entry_id}"


def parse_button(data: str) -> tuple[Choice, str] | None:
    """``"faq:yes:delivery-time"`` → ``("yes", "delivery-time")``; ``None`` if malformed."""
    parts = data.split(":", 2)
    if len(parts) != 3 or parts[0] + ":" != PREFIX or not parts[2]:
        return None
    if parts[1] == "yes":
        return "yes", parts[2]
    if parts[1] == "no":
        return "no", parts[2]
    return None
