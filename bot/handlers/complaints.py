"""Complaints from the customer's side: taking one down, and /status.

The dialogue itself is the pure state machine in :mod:`bot.flows.complaint`; opening the
ticket and telling staff is :mod:`bot.core.services.tickets`. These handlers only read the
update, move the dialogue one step, and say what to reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.ports import UnitOfWork
from bot.core.services.advisors import advisor_of
from bot.core.services.tickets import Intake, add_contact, open_ticket, same_issue
from bot.core.triage import Severity, TriageDecision
from bot.flows import complaint as flow
from bot.flows.complaint import ButtonAction, Draft, Step

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


async def tier_of(uow: UnitOfWork, customer_id: int | None) -> str | None:
    """The customer's value tier as the ticket rules take it ("high" raises priority and caps
    the first-response time), None before their first tier recompute."""
    tier = await uow.tiers.tier_of(customer_id) if customer_id is not None else None
    return tier.value if tier is not None else None


async def _save(deps: Deps, turn: Turn, step: Step, draft: Draft) -> None:
    async with deps.uow() as uow:
        await uow.conversations.save(flow.at(turn.msg.chat_id, step, draft, deps.clock.now()))
        await uow.commit()


def _describe(deps: Deps, draft: Draft, locale: str) -> dict[str, object]:
    """How the confirmation names the problem: the customer's own words when triage found a
    phrase, else the category's name."""
    key = f"complaint.category.{draft.category}"
    if not deps.renderer.has(key, locale):
        key = "complaint.category.other"
    return {"summary": draft.summary, "category_key": key, "order_ref": draft.order_ref}


def draft_from(decision: TriageDecision, text: str, earlier: Draft | None = None) -> Draft:
    """A complaint draft from a triage verdict; something the customer chose to report is a
    complaint of at least severity general, whatever the words."""
    base = earlier or Draft()
    return Draft(
        text=flow.with_text(base, text).text,
        severity=(decision.severity or Severity.GENERAL).value,
        category=decision.category or base.category,
        summary=decision.summary or base.summary,
        negativity=decision.negativity,
        signals=tuple(str(s.term) for s in decision.signals if s.kind != "negativity"),
        order_ref=base.order_ref,
        attachments=base.attachments,
    )


async def confirm(turn: Turn, deps: Deps, draft: Draft) -> Sequence[Result]:
    """Apologise first, then check understanding (SPEC §7)."""
    await _save(deps, turn, Step.CONFIRM, draft)
    params = {"name": turn.name, **_describe(deps, draft, turn.locale)}
    return [Reply("complaint.confirm", params, buttons=YES_NO)]


async def start_from_text(turn: Turn, deps: Deps, decision: TriageDecision) -> Sequence[Result]:
    """Triage heard a complaint in free text: add it to the open ticket it is about, or take
    a new one down."""
    text = turn.msg.text or ""
    assert turn.customer.id is not None
    async with deps.uow() as uow:
        open_tickets = await uow.tickets.open_for_customer(turn.customer.id)
        ticket = same_issue(open_tickets, decision.category)
        if ticket is None and decision.severity is Severity.MAJOR:
            ticket = same_issue(open_tickets, None)  # escalating an open complaint
        if ticket is not None:
            outcome = await add_contact(
                uow,
                turn.customer,
                ticket,
                text,
                now=deps.clock.now(),
                policies=deps.policies,
                repeat_threshold=deps.policies.complaints.repeat_contacts,
                tier=await tier_of(uow, turn.customer.id),
                severity=decision.severity,
            )
            await uow.commit()
            return outcome.replies
    return await confirm(turn, deps, draft_from(decision, text))


async def on_complaint_command(turn: Turn, deps: Deps) -> Sequence[Result]:
    """/complaint [what happened]."""
    if turn.msg.args:
        return await confirm(
            turn, deps, draft_from(deps.triage.classify(turn.msg.args), turn.msg.args)
        )
    await _save(deps, turn, Step.DESCRIBE, Draft())
    return [Reply("complaint.ask_description", {"name": turn.name})]


async def continue_text(turn: Turn, deps: Deps, step: Step, draft: Draft) -> Sequence[Result]:
    """Text while a complaint is being taken down."""
    text = (turn.msg.text or "").strip()
    if step in (Step.DESCRIBE, Step.CONFIRM):
        return await confirm(turn, deps, draft_from(deps.triage.classify(text), text, draft))
    if step is Step.ORDER:
        order_ref = flow.parse_order_ref(text)
        if order_ref is None:
            return [Reply("complaint.order_invalid", {"name": turn.name}, buttons=SKIP)]
        await _save(deps, turn, Step.PHOTOS, replace(draft, order_ref=order_ref))
        return [Reply("complaint.ask_photos", {"name": turn.name}, buttons=DONE_SKIP)]
    await _save(deps, turn, Step.PHOTOS, flow.with_text(draft, text))
    return [Reply("complaint.noted", {"count": len(draft.attachments)}, buttons=DONE_SKIP)]


async def on_complaint_attachment(
    turn: Turn, deps: Deps, step: Step, draft: Draft
) -> Sequence[Result]:
    """A photo or file while a complaint is being taken down: keep its file id."""
    if turn.msg.file_id:
        draft = flow.with_attachment(draft, turn.msg.file_id)
    if turn.msg.text:
        draft = flow.with_text(draft, turn.msg.text)
    next_step = Step.PHOTOS if step in (Step.ORDER, Step.PHOTOS) else step
    await _save(deps, turn, next_step, draft)
    if next_step is not Step.PHOTOS:
        return await confirm(turn, deps, draft)
    return [
        Reply("complaint.photo_received", {"count": len(draft.attachments)}, buttons=DONE_SKIP)
    ]


async def on_complaint_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None
    action = flow.parse_button(turn.msg.callback_data or "")
    state = flow.current(turn.conversation)
    if action is None or state is None:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    step, draft = state
    done = CallbackAnswer(turn.msg.callback_id)
    closed = Reply("complaint.step_done", edit_message_id=turn.msg.message_id)
    if step is Step.CONFIRM and action is ButtonAction.YES:
        await _save(deps, turn, Step.ORDER, draft)
        return [done, closed, Reply("complaint.ask_order", {"name": turn.name}, buttons=SKIP)]
    if step is Step.CONFIRM and action is ButtonAction.NO:
        await _save(deps, turn, Step.DESCRIBE, draft)
        return [done, closed, Reply("complaint.ask_description", {"name": turn.name})]
    if step is Step.ORDER and action is ButtonAction.SKIP:
        await _save(deps, turn, Step.PHOTOS, draft)
        return [
            done,
            closed,
            Reply("complaint.ask_photos", {"name": turn.name}, buttons=DONE_SKIP),
        ]
    if step is Step.PHOTOS and action in (ButtonAction.DONE, ButtonAction.SKIP):
        return [done, closed, *await _open(turn, deps, draft)]
    return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]


async def _open(turn: Turn, deps: Deps, draft: Draft) -> Sequence[Result]:
    intake = Intake(
        text=draft.text,
        severity=Severity(draft.severity),
        category=draft.category,
        summary=draft.summary,
        negativity=draft.negativity,
        signals=draft.signals,
        order_ref=draft.order_ref,
        attachments=draft.attachments,
    )
    assert turn.customer.id is not None
    async with deps.uow() as uow:
        outcome = await open_ticket(
            uow,
            turn.customer,
            intake,
            now=deps.clock.now(),
            policy=deps.policies.sla,
            policies=deps.policies,
            tier=await tier_of(uow, turn.customer.id),
            advisor=await advisor_of(uow, turn.customer.id),
        )
        await uow.conversations.clear(turn.msg.chat_id)
        await uow.commit()
    return outcome.replies


async def on_status(turn: Turn, deps: Deps) -> Sequence[Result]:
    """/status: the customer's open tickets and where each stands."""
    assert turn.customer.id is not None
    async with deps.uow() as uow:
        tickets = await uow.tickets.open_for_customer(turn.customer.id)
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
