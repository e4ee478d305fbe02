"""The survey's comment step, as pure functions over a stored `Conversation`.

    survey ──► "How likely …? [0] … [10]"        (buttons ``nps:<survey>:<score>``)
                     │ a score
                     ▼
           COMMENT "Anything to add? [No comment]"   (``nps:<survey>:none``)
                     │ text within the window / No comment
                     ▼
               done (comment stored)

Only the comment step is dialogue state (which survey), kept in the database so any worker can
take the customer's next message. The service decides whether the window is still open.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.core.messages import Button, Reply
from bot.core.models import Conversation
from bot.core.surveys import no_comment_data

FLOW = "nps"


class Step(StrEnum):
    COMMENT = "comment"


def awaiting_comment(chat_id: int, survey_id: int, now: datetime) -> Conversation:
    return Conversation(
        chat_id=chat_id,
        flow=FLOW,
        step=Step.COMMENT.value,
        updated_at=now,
        data={"survey_id": survey_id},
    )


def current(conversation: Conversation | None) -> int | None:
    """The survey whose comment this chat's next message is, if any."""
    if conversation is None or conversation.flow != FLOW or conversation.step != Step.COMMENT:
        return None
    survey_id = conversation.data.get("survey_id")
    return survey_id if isinstance(survey_id, int) else None


def comment_prompt(survey_id: int, name: str, low: bool) -> Reply:
    return Reply(
        "nps.ask_comment",
        {"name": name, "low": low},
        buttons=((Button("nps.button.no_comment", no_comment_data(survey_id)),),),
    )
