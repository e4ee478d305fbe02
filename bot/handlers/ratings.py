"""Ratings and the revisit from the customer's side: the 1–5 buttons, the optional comment,
and the "all good / still a problem" buttons of the after-sales revisit.

The rules are :mod:`bot.core.services.ratings`; the comment step is the dialogue state of
:mod:`bot.flows.rating`. These handlers read the press, call one service, and say what to reply.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import rating_prompts as prompts
from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import CallbackAnswer, Reply
from bot.core.services.dialogues import end_dialogue
from bot.core.services.profile import invite
from bot.core.services.ratings import (
    Status,
    answer_revisit_question,
    comment_on_rating,
    rate_ticket,
)
from bot.flows import faq_confirm
from bot.flows import rating as flow

# Dialogues a comment prompt may replace; a complaint being taken down is never overwritten.
_REPLACEABLE = frozenset({flow.FLOW, faq_confirm.FLOW})


async def on_rating_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    """``rate:<ticket>:<score>`` under the rating question, ``rate:<ticket>:skip`` under the
    comment prompt."""
    assert turn.msg.callback_id is not None
    parsed = prompts.parse_rate(turn.msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    ticket_id, score = parsed
    done = CallbackAnswer(turn.msg.callback_id)
    if score is None:
        return [done, *await _skip_comment(turn, deps, ticket_id)]
    ask = turn.conversation is None or turn.conversation.flow in _REPLACEABLE
    comment_step = flow.awaiting_comment(
        turn.msg.chat_id, prompts.Pending(ticket_id, score), deps.clock.now()
    )
    outcome = await rate_ticket(
        deps, turn.customer, ticket_id, score, then=comment_step if ask else None
    )
    if outcome.status is Status.REFUSED:
        return [done, Reply("rating.refused", {"name": turn.name})]
    if outcome.status is Status.ALREADY:
        return [done, Reply("rating.already", {"name": turn.name})]
    chosen = Reply(
        "rating.chosen", {"score": score}, edit_message_id=turn.msg.message_id
    )  # the question keeps the answer and loses its buttons
    prompt = [flow.comment_prompt(ticket_id, turn.name, outcome.low)] if ask else []
    return [done, chosen, *outcome.replies, *prompt]


async def _skip_comment(turn: Turn, deps: Deps, ticket_id: int) -> Sequence[Result]:
    pending = flow.current(turn.conversation)
    if pending is not None and pending.ticket_id == ticket_id:
        await end_dialogue(deps, turn.msg.chat_id)
    skipped = Reply(
        "rating.comment_skipped", {"name": turn.name}, edit_message_id=turn.msg.message_id
    )
    return [skipped, *await _then_profile(turn, deps)]


async def _then_profile(turn: Turn, deps: Deps) -> list[Reply]:
    """The rating exchange has ended: a natural moment to ask for what the profile lacks
    (:func:`bot.core.services.profile.invite`; nothing during an open ticket — a low rating
    has just reopened one — nor in the customer's quiet hours)."""
    question = await invite(deps, turn.customer)
    return [question] if question is not None else []


async def on_comment(turn: Turn, deps: Deps) -> Sequence[Result]:
    """The customer's text after "Anything you'd like to add?": the rating's comment."""
    pending = flow.current(turn.conversation)
    replies = await comment_on_rating(deps, turn.customer, pending, turn.msg.text or "")
    said = replies or [Reply("rating.comment_skipped", {"name": turn.name})]
    return [*said, *await _then_profile(turn, deps)]


async def on_revisit_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    """``rv:<ticket>:ok`` or ``rv:<ticket>:problem`` under the after-sales revisit."""
    assert turn.msg.callback_id is not None
    parsed = prompts.parse_revisit(turn.msg.callback_data or "")
    if parsed is None:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    ticket_id, answer = parsed
    outcome = await answer_revisit_question(deps, turn.customer, ticket_id, answer)
    done = CallbackAnswer(turn.msg.callback_id)
    if outcome.status is Status.REFUSED:
        return [done, Reply("rating.refused", {"name": turn.name})]
    if outcome.status is Status.ALREADY:
        return [done, *outcome.replies]
    chosen = Reply("revisit.chosen", {"answer": answer.value}, edit_message_id=turn.msg.message_id)
    return [done, chosen, *outcome.replies]
