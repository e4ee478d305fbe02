"""Use cases behind the staff's ticket buttons and commands (the staff group, or a dedicated
advisor's private chat). Each opens, decides and commits its own unit of work and returns what
happened; the handlers in :mod:`bot.handlers.staff` only word it. Errors are the ticket rules'
own (:class:`~bot.core.tickets.TicketError` and its kinds), raised before anything is
committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.deps import Deps
from bot.core.models import Customer
from bot.core.roles import StaffMember
from bot.core.services.desk import take_over
from bot.core.services.escalation import escalate
from bot.core.services.tickets import Outcome, record_plan, transition
from bot.core.tickets import TicketState
from bot.core.tiers import Tier


@dataclass(frozen=True, slots=True)
class CardOutcome:
    """A change to a ticket, with what its card shows about the customer."""

    outcome: Outcome
    customer: Customer | None
    tier: Tier | None = None


async def move_ticket(deps: Deps, ticket_id: int, to: TicketState, *, actor: str) -> CardOutcome:
    async with deps.uow() as uow:
        outcome = await transition(
            uow,
            ticket_id,
            to,
            actor=actor,
            now=deps.clock.now(),
            policies=deps.policies,
            locales=deps.renderer.locales,
        )
        customer = await uow.customers.get(outcome.ticket.customer_id)
        await uow.commit()
    return CardOutcome(outcome, customer)


async def escalate_ticket(deps: Deps, ticket_id: int, *, actor: str, by: str) -> CardOutcome:
    async with deps.uow() as uow:
        outcome = await escalate(
            uow, ticket_id, actor=actor, by=by, now=deps.clock.now(), policies=deps.policies
        )
        customer = await uow.customers.get(outcome.ticket.customer_id)
        tier = await uow.tiers.tier_of(outcome.ticket.customer_id)
        await uow.commit()
    return CardOutcome(outcome, customer, tier)


async def take_over_chat(deps: Deps, ticket_id: int, agent: StaffMember) -> Outcome:
    async with deps.uow() as uow:
        outcome = await take_over(
            uow,
            ticket_id,
            agent,
            now=deps.clock.now(),
            policies=deps.policies,
            locales=deps.renderer.locales,
        )
        await uow.commit()
    return outcome


async def plan_for(deps: Deps, number: str, plan: str, *, actor: str) -> Outcome | None:
    """Keeps the remediation plan for the ticket numbered `number`; None when there is none."""
    async with deps.uow() as uow:
        ticket = await uow.tickets.get_by_number(number)
        if ticket is None or ticket.id is None:
            return None
        outcome = await record_plan(uow, ticket, plan, actor=actor, now=deps.clock.now())
        await uow.commit()
    return outcome
