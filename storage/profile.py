""":class:`bot.core.ports.ProfileRepository` over ``profile_ask`` (migration 0023), with the
customer's time zone on ``customer`` and the report's read of ``customer`` and
``customer_tier``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Exists, exists, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.models import Reachability
from bot.core.profile import Answer, ProfileAsk, ProfileFacts, ProfileField
from storage.tables.customers import CustomerOrderRow, CustomerTierRow
from storage.tables.profile import ProfileAskRow
from storage.tables.support import CustomerRow
from storage.unique import add_unless_taken


class SqlProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def asked(self, customer_id: int) -> dict[ProfileField, ProfileAsk]:
        rows = await self._session.scalars(
            select(ProfileAskRow)
            .where(col(ProfileAskRow.customer_id) == customer_id)
            .execution_options(populate_existing=True)
        )
        asks: dict[ProfileField, ProfileAsk] = {}
        for row in rows.all():
            which = ProfileField(row.field)
            asks[which] = ProfileAsk(
                customer_id=row.customer_id,
                field=which,
                asked_at=row.asked_at,
                answer=Answer(row.answer) if row.answer else None,
                answered_at=row.answered_at,
            )
        return asks

    async def record_ask(self, customer_id: int, field: ProfileField, at: datetime) -> bool:
        row = ProfileAskRow(customer_id=customer_id, field=field.value, asked_at=at)
        return await add_unless_taken(self._session, row)

    async def answer(
        self, customer_id: int, field: ProfileField, answer: Answer, at: datetime
    ) -> None:
        await self._session.execute(
            update(ProfileAskRow)
            .where(col(ProfileAskRow.customer_id) == customer_id)
            .where(col(ProfileAskRow.field) == field.value)
            .where(col(ProfileAskRow.answer).is_(None))
            .values(answer=answer.value, answered_at=at)
        )

    async def set_timezone(self, customer_id: int, zone: str, at: datetime) -> None:
        await self._session.execute(
            update(CustomerRow)
            .where(col(CustomerRow.id) == customer_id)
            .values(timezone=zone, updated_at=at)
        )

    async def first_orders_since(
        self, since: datetime, after_id: int = 0, limit: int = 500
    ) -> list[int]:
        """Reachable chat customers, by id after `after_id`, whose first order was placed at or
        after `since`: an order since then and none before. Two probes per customer of the
        index on ``customer_order(customer_id, created_at)`` (migration 0024), not an
        aggregate over every order per page."""
        orders = CustomerOrderRow.__table__.c  # type: ignore[attr-defined]
        customer = col(CustomerRow.id)

        def orders_of_customer(*where: ColumnElement[bool]) -> Exists:
            return exists().where(orders.customer_id == customer, *where)

        rows = await self._session.execute(
            select(customer)
            .where(customer > after_id)
            .where(col(CustomerRow.chat_id).is_not(None))
            .where(col(CustomerRow.reachability) == Reachability.REACHABLE.value)
            .where(orders_of_customer(orders.created_at >= since))
            .where(~orders_of_customer(orders.created_at < since))
            .order_by(customer)
            .limit(limit)
        )
        return [int(customer_id or 0) for (customer_id,) in rows.all()]

    async def active_facts(self, stages: Collection[str]) -> list[ProfileFacts]:
        rows = await self._session.execute(
            sa_select(
                col(CustomerTierRow.tier),
                col(CustomerRow.language),
                col(CustomerRow.language_code),
                col(CustomerRow.timezone),
                col(CustomerRow.customer_ref),
                col(CustomerRow.telegram_user_id),
            )
            .join(CustomerTierRow, col(CustomerTierRow.customer_id) == col(CustomerRow.id))
            .where(col(CustomerTierRow.lifecycle).in_(list(stages)))
            .order_by(col(CustomerRow.id))
        )
        return [
            ProfileFacts(
                tier=tier,
                language=language,
                language_code=language_code,
                timezone=timezone,
                linked=ref is not None and user_id is not None,
            )
            for tier, language, language_code, timezone, ref, user_id in rows.all()
        ]
