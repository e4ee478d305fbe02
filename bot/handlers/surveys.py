"""The satisfaction survey from the customer's side: the 0–10 buttons, "No comment", and the
comment typed after a score.

The rules are :mod:`bot.core.surveys` and :mod:`bot.core.services.surveys`; the comment step is
the dialogue state of :mod:`bot.flows.nps`. The question keeps its buttons after a score (its
text says which was chosen), so a slip can be corrected within the comment window.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import surveys
from bot.core.consent import OPT_OUT_DATA
from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.services.dialogues import end_dialogue
from bot.core.services.engagement import OPT_OUT_KEY, survey_buttons
from bot.core.services.surveys import answer_survey, comment_on_survey
from bot.flows import faq_confirm
from bot.flows import nps as flow
from bot.flows import rating as rating_flow
from bot.handlers import questions

# Dialogues a comment prompt may replace; a complaint being taken down is never overwritten.
_REPLACEABLE = frozenset({flow.FLOW, rating_flow.FLOW, faq_confirm.FLOW})


def _chosen(survey_id: int, score: int, deps: Deps, message_id: int | None) -> Reply:
    """The question, edited to say which score was chosen; it keeps its buttons."""
    buttons = (*survey_buttons(survey_id), (Button(OPT_OUT_KEY, OPT_OUT_DATA),))
    minutes = deps.policies.surveys.comment_minutes
    return Reply(
        "nps.chosen",
        {"score": score, "minutes": minutes},
        buttons=buttons,
        edit_message_id=message_id,
    )


async def on_survey_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    """``nps:<survey>:<score>`` under the survey, ``nps:<survey>:none`` under the prompt."""
    msg = turn.msg
    assert msg.callback_id is not None
    parsed = surveys.parse(msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(msg.callback_id, "fallback.expired_button")]
    survey_id, score = parsed
    done = CallbackAnswer(msg.callback_id)
    if score is None:  # "No comment"
        if flow.current(turn.conversation) == survey_id:
            await end_dialogue(deps, msg.chat_id)
        thanks = Reply("nps.comment_skipped", {"name": turn.name}, edit_message_id=msg.message_id)
        return [done, thanks]
    ask = turn.conversation is None or turn.conversation.flow in _REPLACEABLE
    then = flow.awaiting_comment(msg.chat_id, survey_id, deps.clock.now()) if ask else None
    outcome = await answer_survey(deps, turn.customer, survey_id, score, then)
    if outcome.answer is None:
        return [done, Reply("nps.refused", {"name": turn.name})]
    if outcome.answer is surveys.Answer.SAME:
        return [done]  # pressed again: nothing changes, nothing is said twice
    if outcome.answer is surveys.Answer.TOO_LATE:
        return [done, Reply("nps.too_late", {"name": turn.name})]
    chosen = _chosen(survey_id, score, deps, msg.message_id)
    if outcome.answer is surveys.Answer.CHANGED:
        return [CallbackAnswer(msg.callback_id, "nps.changed", {"score": score}), chosen]
    low = surveys.is_detractor(score, deps.policies.surveys)
    prompt = [flow.comment_prompt(survey_id, turn.name, low)] if ask else []
    return [done, chosen, *prompt]


async def on_comment(turn: Turn, deps: Deps) -> Sequence[Result]:
    """The customer's text after a score: the survey's comment while the window is open; after
    it, an ordinary message (answered as a question)."""
    survey_id = flow.current(turn.conversation)
    replies = await comment_on_survey(deps, turn.customer, survey_id, turn.msg.text or "")
    if replies is None:
        return await questions.on_question(turn, deps)
    return replies
