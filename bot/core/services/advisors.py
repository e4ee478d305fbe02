"""Dedicated advisors (SPEC §1, §4): a high-tier customer's cases go to their advisor first.

An advisor is a person on the staff roster; one taken off the roster no longer counts, so
their customers' tickets simply go to the staff group as everyone else's do.
"""

from __future__ import annotations

from bot.core.ports import UnitOfWork
from bot.core.roles import StaffMember


class AdvisorError(ValueError):
    """The advisor cannot be given; the message says why."""


async def assign(uow: UnitOfWork, customer_id: int, staff_user_id: int) -> StaffMember:
    """Makes the roster member `staff_user_id` the customer's dedicated advisor."""
    member = await uow.staff.get(staff_user_id)
    if member is None:
        raise AdvisorError(f"{staff_user_id} is not on the staff roster")
    await uow.staff.set_advisor(customer_id, staff_user_id)
    return member


async def unassign(uow: UnitOfWork, customer_id: int) -> bool:
    """Takes the customer's dedicated advisor away; False if they had none."""
    had = await uow.staff.advisor_of(customer_id) is not None
    await uow.staff.set_advisor(customer_id, None)
    return had


async def advisor_of(uow: UnitOfWork, customer_id: int) -> StaffMember | None:
    """The customer's dedicated advisor while they are on the roster, else None."""
    staff_user_id = await uow.staff.advisor_of(customer_id)
    return await uow.staff.get(staff_user_id) if staff_user_id is not None else None
