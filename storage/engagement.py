"""The engagement engine's read model over SQL (:class:`bot.core.ports.EngagementFactsReader`).

One page of customers is read with one query per table (customers, profiles, standings,
advisors, orders, complaints, ratings, resolved tickets, tier changes, engagement outbox
rows), each filtered to the page's ids, so a page costs a fixed number of round trips
whatever its size. Engagement messages are found by their outbox key prefix ``engage:`` and
the customer they are about; campaign messages (``campaign:``) are among them too, so the
marketing cap counts playbook and campaign messages alike (a key the playbook does not know
counts as marketing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.campaigns.model import KEY_PREFIX as CAMPAIGN_KEY_PREFIX
from bot.core.engagement.facts import CustomerFacts, OrderFact, SentEngagement
from bot.core.models import Reachability
from bot.core.records import OrderStatus, PersonalDataError
from bot.core.tickets import TicketKind
from bot.core.tiers import Lifecycle, Segment, Tier
from storage.crypto import PersonalDataCipher
from storage.tables.customers import (
    CustomerOrderRow,
    CustomerProfileRow,
    CustomerTierHistoryRow,
    CustomerTierRow,
)
from storage.tables.outbox import OutboxRow
from storage.tables.ratings import TicketRatingRow
from storage.tables.staff import CustomerAdvisorRow
from storage.tables.support import CustomerRow
from storage.tables.tickets import TicketRow


class SqlEngagementFacts:
    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher | None) -> None:
        self._session = session
        self._cipher = cipher

    async def _rows(self, statement: Any) -> Sequence[Any]:
        return (await self._session.execute(statement)).all()

    def _birthday(self, row: CustomerProfileRow | None) -> date | None:
        if row is None or row.birthday_enc is None or self._cipher is None:
            return None
        try:
            return date.fromisoformat(self._cipher.decrypt(row.birthday_enc, "birthday"))
        except (PersonalDataError, ValueError):
            return None

    async def customer_facts(self, after_id: int = 0, limit: int = 500) -> list[CustomerFacts]:
        customers = (
            await self._session.scalars(
                select(CustomerRow)
                .where(col(CustomerRow.id) > after_id)
                .order_by(col(CustomerRow.id))
                .limit(limit)
            )
        ).all()
        if not customers:
            return []
        ids = [c.id for c in customers]

        profiles = {
            p.customer_id: p
            for p in (
                await self._session.scalars(
                    select(CustomerProfileRow).where(col(CustomerProfileRow.customer_id).in_(ids))
                )
            ).all()
        }
        standings = {
            t.customer_id: t
            for t in (
                await self._session.scalars(
                    select(CustomerTierRow).where(col(CustomerTierRow.customer_id).in_(ids))
                )
            ).all()
        }
        advised = {
            row[0]
            for row in await self._rows(
                select(col(CustomerAdvisorRow.customer_id)).where(
                    col(CustomerAdvisorRow.customer_id).in_(ids)
                )
            )
        }
        orders: dict[int, list[OrderFact]] = defaultdict(list)
        for o in (
            await self._session.scalars(
                select(CustomerOrderRow)
                .where(col(CustomerOrderRow.customer_id).in_(ids))
                .order_by(col(CustomerOrderRow.created_at))
            )
        ).all():
            orders[o.customer_id].append(
                OrderFact(
                    ref=o.order_id,
                    status=OrderStatus(o.status),
                    created_at=o.created_at,
                    paid_at=o.paid_at,
                    delivered_at=o.delivered_at,
                    used_coupon=bool(o.coupon_code),
                    amount_cents=o.amount_cents,
                )
            )
        complaints: dict[int, list[datetime]] = defaultdict(list)
        resolved: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        tickets = await self._session.scalars(
            select(TicketRow).where(col(TicketRow.customer_id).in_(ids))
        )
        for ticket in tickets.all():
            if ticket.kind == TicketKind.COMPLAINT.value:
                complaints[ticket.customer_id].append(ticket.created_at)
            if ticket.resolved_at is not None and ticket.id is not None:
                resolved[ticket.customer_id].append((ticket.id, ticket.resolved_at))
        ratings: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
        for c_id, at, score in await self._rows(
            select(
                col(TicketRatingRow.customer_id),
                col(TicketRatingRow.rated_at),
                col(TicketRatingRow.score),
            ).where(col(TicketRatingRow.customer_id).in_(ids))
        ):
            ratings[c_id].append((at, score))
        changed = {
            c_id: day
            for c_id, day in await self._rows(
                select(
                    col(CustomerTierHistoryRow.customer_id),
                    func.max(col(CustomerTierHistoryRow.as_of)),
                )
                .where(col(CustomerTierHistoryRow.customer_id).in_(ids))
                .group_by(col(CustomerTierHistoryRow.customer_id))
            )
        }
        sent: dict[int, list[SentEngagement]] = defaultdict(list)
        for c_id, key, at in await self._rows(
            select(
                col(OutboxRow.about_customer_id),
                col(OutboxRow.idempotency_key),
                col(OutboxRow.not_before),
            )
            .where(col(OutboxRow.about_customer_id).in_(ids))
            .where(
                or_(
                    col(OutboxRow.idempotency_key).like("engage:%"),
                    col(OutboxRow.idempotency_key).like(f"{CAMPAIGN_KEY_PREFIX}%"),
                )
            )
        ):
            sent[c_id].append(SentEngagement(key, at))

        facts: list[CustomerFacts] = []
        for c in customers:
            assert c.id is not None
            profile = profiles.get(c.id)
            standing = standings.get(c.id)
            facts.append(
                CustomerFacts(
                    customer_id=c.id,
                    name=c.first_name or c.display_name,
                    chat_id=c.chat_id,
                    reachability=Reachability(c.reachability),
                    language=c.language,
                    language_code=c.language_code,
                    timezone=c.timezone,
                    tier=Tier(standing.tier) if standing else Tier.PROSPECT,
                    stage=Lifecycle(standing.lifecycle) if standing else Lifecycle.PROSPECT,
                    segment=Segment(standing.segment) if standing and standing.segment else None,
                    tags=frozenset(profile.tags) if profile else frozenset(),
                    has_advisor=c.id in advised,
                    consent=bool(profile and profile.marketing_consent),
                    birthday=self._birthday(profile),
                    orders=tuple(orders.get(c.id, ())),
                    complaints=tuple(complaints.get(c.id, ())),
                    ratings=tuple(ratings.get(c.id, ())),
                    resolved_tickets=tuple(resolved.get(c.id, ())),
                    tier_changed_on=changed.get(c.id),
                    sent=tuple(sent.get(c.id, ())),
                )
            )
        return facts
