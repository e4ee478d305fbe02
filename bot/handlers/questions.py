"""Free text: answer from the FAQ, confirm a borderline match first, or hand to a person."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.models import RequestReason
from bot.core.services.dialogues import end_dialogue, save_dialogue
from bot.core.services.support import promise_person
from bot.flows import faq_confirm


async def _promise(turn: Turn, deps: Deps, text: str, reason: RequestReason) -> Reply:
    """Records a request for a person and words the promise of when they will answer."""
    promise = await promise_person(deps, turn.customer, text, reason)
    return Reply(
        "handoff.promised", {"name": turn.name, "reason": reason.value, **promise.params()}
    )


async def on_question(turn: Turn, deps: Deps) -> Sequence[Result]:
    """Answer from the FAQ, confirm a borderline match first, or promise a person."""
    text = turn.msg.text or ""
    found = deps.faq.match(text, turn.locale)
    if found.outcome == "answer" and found.entry_id:
        if turn.conversation is not None:  # a question ends any dialogue left open
            await end_dialogue(deps, turn.msg.chat_id)
        return [Reply("faq.reply", {"faq_id": found.entry_id})]
    if found.outcome == "confirm" and found.entry_id:
        await save_dialogue(
            deps, faq_confirm.begin(turn.msg.chat_id, found.entry_id, text, deps.clock.now())
        )
        buttons = (
            (
                Button("common.yes", faq_confirm.button_data("yes", found.entry_id)),
                Button("common.no", faq_confirm.button_data("no", found.entry_id)),
            ),
        )
        return [Reply("faq.confirm", {"faq_id": found.entry_id}, buttons=buttons)]
    return [await _promise(turn, deps, text, RequestReason.FAQ_MISS)]


async def on_faq_choice(turn: Turn, deps: Deps) -> Sequence[Result]:
    """The customer pressed Yes or No under "Do you mean …?"."""
    assert turn.msg.callback_id is not None and turn.msg.callback_data is not None
    parsed = faq_confirm.parse_button(turn.msg.callback_data)
    if parsed is None or not deps.renderer.has(f"faq.{parsed[1]}.answer", turn.locale):
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    choice, entry_id = parsed
    closed = Reply(
        "faq.confirm_answered", {"faq_id": entry_id}, edit_message_id=turn.msg.message_id
    )
    if choice == "yes":
        await end_dialogue(deps, turn.msg.chat_id)
        return [
            CallbackAnswer(turn.msg.callback_id),
            closed,
            Reply("faq.reply", {"faq_id": entry_id}),
        ]
    pending = faq_confirm.pending(turn.conversation)
    question = pending.question if pending and pending.entry_id == entry_id else ""
    promise = await _promise(
        turn,
        deps,
        question or f"(declined FAQ suggestion {entry_id})",
        RequestReason.FAQ_REJECTED,
    )
    return [CallbackAnswer(turn.msg.callback_id), closed, promise]


async def on_attachment(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A photo, file, voice note or anything but text: keep it and promise a person."""
    note = turn.msg.text or f"[{turn.msg.content.value}]"
    return [await _promise(turn, deps, note, RequestReason.ATTACHMENT)]


async def on_stale_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A button whose payload no route knows (e.g. from an older version of the bot)."""
    assert turn.msg.callback_id is not None
    return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
