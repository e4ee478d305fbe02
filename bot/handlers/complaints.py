"""Complaints from the customer's side: taking one down, and /status.

The dialogue itself is the pure state machine in :mod:`bot.flows.complaint`; opening the
ticket and telling staff is :mod:`bot.core.services.tickets`. These handlers only read the
update, move the dialogue one step, and say what to reply.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.services.complaints import (
    add_to_open_ticket,
    keep_step,
    open_complaint,
    open_tickets,
)
from bot.core.services.tickets import Intake
from bot.flows import complaint as flow
from bot.flows.complaint import ButtonAction, Draft, Prompt, Step

YES_NO = (
    (
        Button("complaint.button.yes", flow.button_data(ButtonAction.YES)),
        Button("complaint.button.no", flow.button_data(ButtonAction.NO)),
    ),
)
SKIP = ((Button("complaint.button.skip", flow.button_data(ButtonAction.SKIP)),),)
DONE_SKIP = (
    (
        Button("complaint.button.done", flow.button_data(ButtonAction.DONE)),
        Button("complaint.button.skip", flow.button_data(ButtonAction.SKIP)),
    ),
)


def _describe(deps: Deps, draft: Draft, locale: str) -> dict[str, object]:
    """How the confirmation names the problem: the customer's own words when triage found a
    phrase, else the category's name."""
    key = f"complaint.category.{draft.category}"
    if not deps.renderer.has(key, locale):
        key = "complaint.category.other"
    return {"summary": draft.summary, "category_key": key, "order_ref": draft.order_ref}


def _prompt(turn: Turn, deps: Deps, move: flow.Transition) -> list[Result]:
    """The words for a move of the dialogue."""
    name = {"name": turn.name}
    draft = move.draft
    match move.prompt:
        case Prompt.CONFIRM:
            params = {**name, **_describe(deps, draft, turn.locale)}
            return [Reply("complaint.confirm", params, buttons=YES_NO)]
        case Prompt.ASK_DESCRIPTION:
            return [Reply("complaint.ask_description", name)]
        case Prompt.ASK_ORDER:
            return [Reply("complaint.ask_order", name, buttons=SKIP)]
        case Prompt.ORDER_INVALID:
            return [Reply("complaint.order_invalid", name, buttons=SKIP)]
        case Prompt.ASK_PHOTOS:
            return [Reply("complaint.ask_photos", name, buttons=DONE_SKIP)]
        case Prompt.NOTED:
            return [Reply("complaint.noted", {"count": len(draft.attachments)}, buttons=DONE_SKIP)]
        case Prompt.PHOTO_RECEIVED:
            count = {"count": len(draft.attachments)}
            return [Reply("complaint.photo_received", count, buttons=DONE_SKIP)]
    return []


async def _apply(turn: Turn, deps: Deps, move: flow.Transition) -> list[Result]:
    """Stores the dialogue's new state — or opens the ticket, which ends the dialogue — and
    says what comes next."""
    if move.prompt is Prompt.EXPIRED:
        assert turn.msg.callback_id is not None
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    opened: list[Reply] = []
    if move.opens_ticket:
        opened = await open_complaint(deps, turn.customer, _intake(move.draft))
    elif move.changed:
        assert move.step is not None
        await keep_step(deps, flow.at(turn.msg.chat_id, move.step, move.draft, deps.clock.now()))
    pressed: list[Result] = []
    if turn.msg.callback_id is not None:
        pressed.append(CallbackAnswer(turn.msg.callback_id))
        if move.close_buttons:
            pressed.append(Reply("complaint.step_done", edit_message_id=turn.msg.message_id))
    return [*pressed, *_prompt(turn, deps, move), *opened]


def _intake(draft: Draft) -> Intake:
    return Intake(
        text=draft.text,
        severity=draft.severity,
        category=draft.category,
        summary=draft.summary,
        negativity=draft.negativity,
        signals=draft.signals,
        order_ref=draft.order_ref,
        attachments=draft.attachments,
    )


async def on_complaint_text(turn: Turn, deps: Deps) -> Sequence[Result]:
    """Triage heard a complaint in free text (routing asked it): add it to the open ticket it
    is about, or take a new one down."""
    decision = turn.decision
    assert decision is not None, "the complaint route runs on triaged text"
    text = turn.msg.text or ""
    added = await add_to_open_ticket(deps, turn.customer, text, decision)
    if added is not None:
        return added
    return await _apply(turn, deps, flow.begin(flow.Said(text, decision)))


async def on_complaint_command(turn: Turn, deps: Deps) -> Sequence[Result]:
    """/complaint [what happened]."""
    said = flow.Said(turn.msg.args, deps.triage.classify(turn.msg.args)) if turn.msg.args else None
    return await _apply(turn, deps, flow.begin(said))


async def on_text(turn: Turn, deps: Deps) -> Sequence[Result]:
    """Text while a complaint is being taken down."""
    state = flow.current(turn.conversation)
    if state is None:  # a stored step this version no longer knows: start the report again
        return await _apply(turn, deps, flow.begin(None))
    text = (turn.msg.text or "").strip()
    event = flow.Said(text, deps.triage.classify(text))
    return await _apply(turn, deps, flow.step(*state, event))


async def on_attachment(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A photo or file while a complaint is being taken down: keep its file id."""
    step, draft = flow.current(turn.conversation) or (Step.DESCRIBE, Draft())
    event = flow.Attached(turn.msg.file_id, turn.msg.text)
    return await _apply(turn, deps, flow.step(step, draft, event))


async def on_complaint_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None
    action = flow.parse_button(turn.msg.callback_data or "")
    state = flow.current(turn.conversation)
    if action is None or state is None:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    return await _apply(turn, deps, flow.step(*state, flow.Pressed(action)))


async def on_status(turn: Turn, deps: Deps) -> Sequence[Result]:
    """/status: the customer's open tickets and where each stands."""
    assert turn.customer.id is not None
    tickets = await open_tickets(deps, turn.customer.id)
    if not tickets:
        return [Reply("complaint.status_none", {"name": turn.name})]
    items = [
        {
            "number": t.number,
            "summary": t.summary or "",
            "state": t.state.value,
            "created": t.created_at.strftime("%Y-%m-%d"),
        }
        for t in tickets
    ]
    return [Reply("complaint.status_list", {"name": turn.name, "tickets": items})]
