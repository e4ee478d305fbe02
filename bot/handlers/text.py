"""Free text and attachments: where they go depends on the dialogue and on triage.

1. A complaint being taken down gets the text (or photo) as its next step; a rating awaiting
   its optional comment gets the text as that comment.
2. Otherwise triage reads the text: a complaint (even one that never says so) starts the
   complaint dialogue — apology and confirmation first.
3. Anything else is a question for the FAQ (or for a person).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.triage import Kind
from bot.flows import complaint as complaint_flow
from bot.flows import rating as rating_flow
from bot.handlers import complaints, questions, ratings


async def on_text(turn: Turn, deps: Deps) -> Sequence[Result]:
    state = complaint_flow.current(turn.conversation)
    if state is not None:
        return await complaints.continue_text(turn, deps, *state)
    pending_rating = rating_flow.current(turn.conversation)
    if pending_rating is not None:
        return await ratings.continue_comment(turn, deps, pending_rating)
    decision = deps.triage.classify(turn.msg.text or "")
    if decision.kind is Kind.COMPLAINT:
        return await complaints.start_from_text(turn, deps, decision)
    return await questions.answer_question(turn, deps)


async def on_attachment(turn: Turn, deps: Deps) -> Sequence[Result]:
    state = complaint_flow.current(turn.conversation)
    if state is not None:
        return await complaints.on_complaint_attachment(turn, deps, *state)
    return await questions.on_attachment(turn, deps)


async def on_edit(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A customer edited an earlier message. While an agent has the chat the edit is relayed
    (the dispatcher does that before any handler); otherwise the bot answered the original
    already and lets the edit be."""
    return []
