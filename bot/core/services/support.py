"""Answering questions from the FAQ and handing what it cannot settle to a person.

The promise made to the customer ("a person will reply by …") is computed here from the
service standard in settings, on the business-hours clock when the deployment has one (outside
opening hours the customer is told the team is away and when it will answer), and recorded
as a :class:`SupportRequest`, which the complaint and agent-desk features pick up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.deps import Deps
from bot.core.models import Customer, RequestReason, SupportRequest
from bot.core.ports import UnitOfWork
from bot.core.sla import SlaPolicy


@dataclass(frozen=True, slots=True)
class Promise:
    """When a person will answer, as the customer should read it."""

    request_id: int
    due_at: datetime
    due_local: str
    zone: str
    within_key: str
    within_count: int
    away: bool = False
    """Asked outside business hours: nobody is there to answer now."""

    def params(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "due_local": self.due_local,
            "zone": self.zone,
            "within_key": self.within_key,
            "within_count": self.within_count,
            "away": self.away,
        }


def local_zone(customer: Customer, default_zone: str) -> ZoneInfo:
    """The customer's time zone, or the deployment's when theirs is unknown or invalid."""
    for name in (customer.timezone, default_zone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def within(minutes: int) -> tuple[str, int]:
    """How to say a duration: whole hours when it is a multiple of 60, else minutes."""
    if minutes % 60 == 0:
        return "handoff.within.hours", minutes // 60
    return "handoff.within.minutes", minutes


async def hand_off(
    uow: UnitOfWork,
    customer: Customer,
    text: str,
    reason: RequestReason,
    now: datetime,
    first_response: timedelta,
    default_zone: str,
    policy: SlaPolicy | None = None,
) -> Promise:
    """Records a request for a person and returns the promise to give the customer. With a
    `policy` that has business hours, the time runs only while the business is open; the
    promise then says whether the team is away now, and gives the duration ("within 2 hours")
    only when the clock runs without a break until the answer is due."""
    assert customer.id is not None, "customer must be stored before a hand-off"
    assert customer.chat_id is not None, "a hand-off answers a customer who wrote from a chat"
    duration = first_response
    due_at = policy.after(now, duration) if policy else now + duration
    away = policy is not None and policy.after(now, timedelta()) != now
    request = await uow.requests.add(
        SupportRequest(
            customer_id=customer.id,
            chat_id=customer.chat_id,
            text=text,
            reason=reason,
            created_at=now,
            due_at=due_at,
        )
    )
    assert request.id is not None
    zone = local_zone(customer, default_zone)
    key, count = (
        within(round(duration.total_seconds() / 60)) if due_at - now == duration else ("", 0)
    )
    return Promise(
        request_id=request.id,
        due_at=due_at,
        due_local=due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        zone=zone.key,
        within_key=key,
        within_count=count,
        away=away,
    )


async def promise_person(
    deps: Deps, customer: Customer, text: str, reason: RequestReason
) -> Promise:
    """Use case: hand what the customer said to a person, end any dialogue they were in, and
    return the promise of when a person will answer (one unit of work)."""
    policies = deps.policies
    assert customer.chat_id is not None
    async with deps.uow() as uow:
        promise = await hand_off(
            uow,
            customer,
            text,
            reason,
            deps.clock.now(),
            policies.sla.enquiry_first_response,
            policies.locale.default_timezone,
            policies.sla,
        )
        await uow.conversations.clear(customer.chat_id)
        await uow.commit()
    return promise
