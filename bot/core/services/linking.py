"""Linking a Telegram user to the shop's customer record (issue #5).

Two ways: a signed, expiring deep link (``t.me/<bot>?start=<token>``, made by
``rapport customer link-url``), or the customer shares their own phone number with the contact
button and it matches the phone imported for exactly one record (blind index, no decryption).

The imported record is then folded into the customer who is writing (their Telegram identity
and history stay; the record's reference, contact data, orders and tiers move over).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.deps import Deps
from bot.core.models import Customer
from bot.core.policies import LinkingPolicy
from bot.core.ports import UnitOfWork
from bot.core.records import (
    LinkTokenError,
    PersonalDataError,
    make_link_token,
    normalise_phone,
    read_link_token,
)

log = logging.getLogger(__name__)


class LinkOutcome(StrEnum):
    LINKED = "linked"
    ALREADY = "already"
    TAKEN = "taken"
    EXPIRED = "expired"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    UNAVAILABLE = "unavailable"


def link_url(policy: LinkingPolicy, customer_id: int, now: datetime) -> str:
    """``https://t.me/<bot>?start=<token>`` for `customer_id`, valid for the configured days.
    Raises :class:`PersonalDataError` when no encryption key is configured."""
    if policy.key is None:
        raise PersonalDataError("signing a link needs RAPPORT_ENCRYPTION_KEY")
    token = make_link_token(customer_id, now + timedelta(days=policy.token_days), policy.key)
    return f"https://t.me/{policy.bot_username.lstrip('@')}?start={token}"


async def link_with_token(deps: Deps, customer: Customer, token: str) -> LinkOutcome:
    """Use case: ``/start <token>`` from a shop's deep link. Like any /start, it also ends a
    half-finished dialogue."""
    async with deps.uow() as uow:
        outcome = await link_by_token(
            uow, customer, token, deps.clock.now(), deps.policies.linking.key
        )
        if customer.chat_id is not None:
            await uow.conversations.clear(customer.chat_id)
        await uow.commit()
    return outcome


async def link_with_contact(
    deps: Deps, customer: Customer, phone: str | None, contact_user_id: int | None
) -> LinkOutcome:
    """Use case: the customer shared a contact; it links them if it is their own number and it
    matches exactly one imported record."""
    async with deps.uow() as uow:
        outcome = await link_by_contact(
            uow, customer, phone, contact_user_id, deps.policies.linking.phone_country_code
        )
        await uow.commit()
    return outcome


async def link_by_token(
    uow: UnitOfWork, customer: Customer, token: str, now: datetime, key: bytes | None
) -> LinkOutcome:
    if key is None:
        return LinkOutcome.UNAVAILABLE
    try:
        record_id = read_link_token(token.strip(), now, key)
    except LinkTokenError as exc:
        return LinkOutcome(exc.reason)
    record = await uow.customers.get(record_id)
    if record is None:  # gone: folded into a Telegram customer by an earlier link
        return LinkOutcome.ALREADY if customer.customer_ref else LinkOutcome.INVALID
    return await _link(uow, customer, record)


async def link_by_contact(
    uow: UnitOfWork,
    customer: Customer,
    phone: str | None,
    contact_user_id: int | None,
    country_code: str = "",
) -> LinkOutcome:
    """Only the sender's own contact counts: Telegram sets the contact's ``user_id`` to the
    sharer's id when it is their own number; anyone else's contact card is refused."""
    if contact_user_id is None or contact_user_id != customer.telegram_user_id:
        return LinkOutcome.NOT_YOURS
    normalised = normalise_phone(phone or "", country_code)
    if normalised is None:
        return LinkOutcome.NOT_FOUND
    try:
        candidates = await uow.records.find_by_phone(normalised)
    except PersonalDataError:
        log.warning("contact shared but no encryption key is configured; cannot match it")
        return LinkOutcome.UNAVAILABLE
    if any(c.id == customer.id for c in candidates):
        return LinkOutcome.ALREADY
    free = [c for c in candidates if c.telegram_user_id is None]
    if len(free) != 1:  # none, or a number shared by several records: ask for a link instead
        return LinkOutcome.NOT_FOUND
    return await _link(uow, customer, free[0])


async def _link(uow: UnitOfWork, customer: Customer, record: Customer) -> LinkOutcome:
    assert customer.id is not None and record.id is not None
    if record.id == customer.id:
        return LinkOutcome.ALREADY
    if record.telegram_user_id is not None or customer.customer_ref is not None:
        return LinkOutcome.TAKEN
    await uow.records.absorb(record.id, customer.id)
    await uow.commit()
    log.info("customer %s linked to the shop's record %s", customer.id, record.id)
    return LinkOutcome.LINKED
