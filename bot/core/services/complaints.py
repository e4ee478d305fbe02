"""Use cases of the complaint dialogue: each opens, decides and commits its own unit of work.

The dialogue's moves are the pure :func:`bot.flows.complaint.step`; its handlers hand the
result here to be stored — the next dialogue state, or the ticket it opens — and word the
answer from what comes back.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.messages import Reply
from bot.core.models import Conversation, Customer
from bot.core.ports import UnitOfWork
from bot.core.services.advisors import advisor_of
from bot.core.services.tickets import Intake, add_contact, open_ticket, same_issue
from bot.core.tickets import Ticket
from bot.core.tiers import Tier
from bot.core.triage import Severity, TriageDecision


async def tier_of(uow: UnitOfWork, customer_id: int | None) -> Tier | None:
    """The customer's value tier as the ticket rules take it (high raises priority and caps
    the first-response time), None before their first tier recompute."""
    return await uow.tiers.tier_of(customer_id) if customer_id is not None else None


async def keep_step(deps: Deps, state: Conversation) -> None:
    """Stores where the complaint dialogue stands."""
    async with deps.uow() as uow:
        await uow.conversations.save(state)
        await uow.commit()


async def open_complaint(deps: Deps, customer: Customer, intake: Intake) -> list[Reply]:
    """Opens the ticket the dialogue gathered and ends the dialogue, in one unit of work; the
    replies tell the customer (number, promised time) and the staff (cards)."""
    assert customer.id is not None and customer.chat_id is not None
    async with deps.uow() as uow:
        outcome = await open_ticket(
            uow,
            customer,
            intake,
            now=deps.clock.now(),
            policy=deps.policies.sla,
            policies=deps.policies,
            tier=await tier_of(uow, customer.id),
            advisor=await advisor_of(uow, customer.id),
        )
        await uow.conversations.clear(customer.chat_id)
        await uow.commit()
    return outcome.replies


async def add_to_open_ticket(
    deps: Deps, customer: Customer, text: str, decision: TriageDecision
) -> list[Reply] | None:
    """A complaint about an issue the customer already has an open ticket for (the same
    category, or any open one when it escalates to major) is added to that ticket, which may
    raise its severity; None when there is no such ticket."""
    assert customer.id is not None
    async with deps.uow() as uow:
        open_tickets = await uow.tickets.open_for_customer(customer.id)
        ticket = same_issue(open_tickets, decision.category)
        if ticket is None and decision.severity is Severity.MAJOR:
            ticket = same_issue(open_tickets, None)  # escalating an open complaint
        if ticket is None:
            return None
        outcome = await add_contact(
            uow,
            customer,
            ticket,
            text,
            now=deps.clock.now(),
            policies=deps.policies,
            repeat_threshold=deps.policies.complaints.repeat_contacts,
            tier=await tier_of(uow, customer.id),
            severity=decision.severity,
        )
        await uow.commit()
    return outcome.replies


async def open_tickets(deps: Deps, customer_id: int) -> Sequence[Ticket]:
    async with deps.uow() as uow:
        return await uow.tickets.open_for_customer(customer_id)
