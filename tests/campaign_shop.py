"""A small shop for campaign tests over the SQL storage: customers with a tier, a locale, a
time zone, consent and reachability, and the :class:`CampaignTools` to run campaigns on it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import col

from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.campaigns.model import CampaignAudience, CampaignSpec, LocaleMessage, Schedule
from bot.core.engagement.playbook import Audience
from bot.core.models import Customer, Reachability
from bot.core.outbox_model import OutboxState
from bot.core.policies import CampaignPolicy
from bot.core.records import CustomerProfile
from bot.core.services.campaigns import CampaignTools
from bot.core.tiers import Tier
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import CustomerTierRow
from storage.tables.outbox import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FrozenClock
from tests.unit.conftest import language

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
"""Noon UTC: outside the quiet hours in UTC and Shanghai (20:00), inside in Los Angeles."""


@dataclass(frozen=True)
class Person:
    name: str
    tier: str = "mid"
    language: str = "en"
    consent: bool = True
    reachability: Reachability = Reachability.REACHABLE
    timezone: str | None = None
    linked: bool = True


def spring(audience: CampaignAudience | None = None, **changes: object) -> CampaignSpec:
    """A campaign to the mid tier with a message in English and Simplified Chinese."""
    spec = CampaignSpec(
        name="Spring teas",
        audience=audience or CampaignAudience((Audience(tiers=frozenset({Tier.MID})),)),
        messages={
            "en": LocaleMessage(text="Hello {name}, the spring teas are here."),
            "zh-Hans": LocaleMessage(text="{name}，您好！春茶到了。"),
        },
        schedule=Schedule(),
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


class Shop:
    def __init__(self, url: str, policy: CampaignPolicy | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.uow = SqlUnitOfWorkFactory.from_engine(self.engine)
        self.clock = FrozenClock(NOW)
        bundle = policies(Settings(default_timezone="UTC"))
        self.tools = CampaignTools(
            self.uow,
            language(),
            replace(bundle, campaigns=policy or CampaignPolicy()),
            self.clock,
        )
        self.ids: dict[str, int] = {}
        self._next = 1000

    async def open(self) -> Shop:
        await upgrade(self.url, engine=self.engine)
        return self

    async def close(self) -> None:
        await self.engine.dispose()

    async def add(self, *people: Person) -> None:
        async with self.uow() as work:
            for p in people:
                self._next += 1
                chat = self._next if p.linked else None
                customer = await work.customers.add(
                    Customer(
                        telegram_user_id=chat,
                        chat_id=chat,
                        display_name=p.name,
                        first_name=p.name,
                        created_at=NOW - timedelta(days=100),
                        updated_at=NOW - timedelta(days=100),
                        language=p.language,
                        timezone=p.timezone,
                        reachability=p.reachability,
                        customer_ref=f"C-{p.name}",
                    )
                )
                assert customer.id is not None
                self.ids[p.name] = customer.id
                await work.records.save_profile(
                    CustomerProfile(customer.id, marketing_consent=p.consent)
                )
                work.session.add(
                    CustomerTierRow(
                        customer_id=customer.id,
                        as_of=NOW.date(),
                        tier=p.tier,
                        lifecycle="active",
                        frequency=2,
                        monetary_cents=10000,
                    )
                )
            await work.commit()

    async def outbox(self, prefix: str = "campaign:") -> list[OutboxRow]:
        async with self.uow() as work:
            rows = await work.session.scalars(
                select(OutboxRow)
                .where(col(OutboxRow.idempotency_key).like(f"{prefix}%"))
                .order_by(col(OutboxRow.id))
            )
            found = list(rows.all())
            work.session.expunge_all()  # readable after close
            return found

    async def deliver_all(
        self, state: OutboxState = OutboxState.SENT, error: str | None = None
    ) -> int:
        """What a sender would do: every pending campaign row ends `state`."""
        async with self.uow() as work:
            result = await work.session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.idempotency_key).like("campaign:%"))
                .where(col(OutboxRow.state) == OutboxState.PENDING.value)
                .where(col(OutboxRow.not_before) <= self.clock.now())
                .values(state=state.value, sent_at=self.clock.now(), last_error=error)
            )
            await work.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def count_outbox(self) -> int:
        async with self.uow() as work:
            found = await work.session.scalar(select(func.count()).select_from(OutboxRow))
            return int(found or 0)
