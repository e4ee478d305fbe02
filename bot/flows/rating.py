"""The rating dialogue, as a pure state machine over a stored `Conversation`.

    ticket resolved ──► "How did we do? [1⭐] … [5⭐]"   (buttons ``rate:<ticket>:<score>``)
                                 │ a score
                                 ▼
                     COMMENT "Anything you'd like to add? [Skip]"  (``rate:<ticket>:skip``)
                                 │ text / Skip
                                 ▼
                           done (comment stored)

Only the comment step is dialogue state (which ticket, which score), kept in the database so
any worker can take the customer's next message. The rating question itself needs none: its
buttons carry the ticket id, and the service checks the ticket belongs to whoever presses.

The questions and their button payloads are in :mod:`bot.core.rating_prompts`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.core.messages import Button, Reply
from bot.core.models import Conversation
from bot.core.rating_prompts import Pending, skip_data

FLOW = "rating"


class Step(StrEnum):
    COMMENT = "comment"


def awaiting_comment(chat_id: int, pending: Pending, now: datetime) -> Conversation:
    return Conversation(
        chat_id=chat_id,
        flow=FLOW,
        step=Step.COMMENT.value,
        updated_at=now,
        data={"ticket_id": pending.ticket_id, "score": pending.score},
    )


def current(conversation: Conversation | None) -> Pending | None:
    """The rating whose comment this chat's next message completes, if any."""
    if conversation is None or conversation.flow != FLOW or conversation.step != Step.COMMENT:
        return None
    ticket_id, score = conversation.data.get("ticket_id"), conversation.data.get("score")
    if not isinstance(ticket_id, int) or not isinstance(score, int):
        return None
    return Pending(ticket_id, score)


def comment_prompt(ticket_id: int, name: str, low: bool) -> Reply:
    return Reply(
        "rating.ask_comment",
        {"name": name, "low": low},
        buttons=((Button("rating.button.skip", skip_data(ticket_id)),),),
    )
