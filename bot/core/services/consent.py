"""Use cases of marketing consent (:mod:`bot.core.consent`): opting out and back in.

Each opens its unit of work, records the change (profile and consent log together) only when
it changes something, and commits. Pressing the opt-out button twice, or ``/stop`` after the
button, records one change: the log holds what the customer decided, not how often they said
it.
"""

from __future__ import annotations

from bot.core.consent import ConsentChange, ConsentSource, needs_change, opted_out
from bot.core.deps import Deps
from bot.core.models import Customer


async def set_marketing_consent(
    deps: Deps, customer: Customer, consent: bool, source: ConsentSource
) -> bool:
    """Records the customer's decision; True when it changed their consent."""
    assert customer.id is not None
    async with deps.uow() as uow:
        state = await uow.records.consent(customer.id)
        if not needs_change(state, consent):
            return False
        change = ConsentChange(customer.id, consent, source, deps.clock.now())
        await uow.records.record_consent(change)
        await uow.commit()
    return True


async def welcome_back(deps: Deps, customer: Customer) -> bool:
    """``/start`` from a customer who had opted out opts them back in (source ``start``);
    True if it did. A customer who never said anything is not opted in by ``/start``."""
    assert customer.id is not None
    async with deps.uow() as uow:
        if not opted_out(await uow.records.consent(customer.id)):
            return False
        change = ConsentChange(customer.id, True, ConsentSource.START, deps.clock.now())
        await uow.records.record_consent(change)
        await uow.commit()
    return True
