"""Knowing who is writing: the customer record behind a Telegram user, and their locale."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.deps import Deps
from bot.core.locale import resolve_locale
from bot.core.messages import Sender
from bot.core.models import Customer, Reachability
from bot.core.ports import UnitOfWork


async def upsert_customer(
    uow: UnitOfWork, sender: Sender, chat_id: int, now: datetime
) -> Customer:
    """Finds the customer for `sender` or creates one; refreshes what Telegram tells us.

    A customer who writes is reachable again, whatever an earlier delivery failure said.
    """
    customer = await uow.customers.get_by_telegram_id(sender.id)
    if customer is None:
        return await uow.customers.add(
            Customer(
                telegram_user_id=sender.id,
                chat_id=chat_id,
                display_name=sender.display_name,
                first_name=sender.first_name,
                username=sender.username,
                language_code=sender.language_code,
                created_at=now,
                updated_at=now,
            )
        )
    fresh = (
        sender.display_name,
        sender.first_name,
        sender.username,
        sender.language_code,
        chat_id,
        Reachability.REACHABLE,
    )
    known = (
        customer.display_name,
        customer.first_name,
        customer.username,
        customer.language_code,
        customer.chat_id,
        customer.reachability,
    )
    if fresh != known:
        (
            customer.display_name,
            customer.first_name,
            customer.username,
            customer.language_code,
            customer.chat_id,
            customer.reachability,
        ) = fresh
        customer.updated_at = now
        await uow.customers.update(customer)
    return customer


def customer_locale(customer: Customer, default: str, supported: Sequence[str]) -> str:
    return resolve_locale(customer.language, customer.language_code, default, supported)


async def choose_language(deps: Deps, customer: Customer, locale: str) -> None:
    """Use case: records the customer's own choice of locale, which outranks Telegram's."""
    async with deps.uow() as uow:
        customer.language = locale
        customer.updated_at = deps.clock.now()
        await uow.customers.update(customer)
        await uow.commit()
