"""SQL repositories of customer records and value tiers (:mod:`bot.core.ports`:
``CustomerRecordRepository``, ``CustomerTiers``).

Contact data is encrypted here, on its way into the database, and decrypted on its way out
(:mod:`storage.crypto`); without a cipher (no ``RAPPORT_ENCRYPTION_KEY``) nothing personal is
written or read and :class:`bot.core.records.PersonalDataError` says why. Like every repository
these never commit.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.consent import ConsentChange, ConsentSource, ConsentState
from bot.core.models import Customer
from bot.core.records import (
    CustomerExport,
    CustomerProfile,
    PersonalDataError,
    TierChange,
    TierInfo,
)
from bot.core.tiers import Lifecycle, Segment, Tier
from storage.crypto import PersonalDataCipher
from storage.mapping import customer_from_row
from storage.tables import (
    ConversationRow,
    CouponRow,
    CustomerAdvisorRow,
    CustomerOrderRow,
    CustomerPaidDayRow,
    CustomerProfileRow,
    CustomerRfmRow,
    CustomerRow,
    CustomerTierHistoryRow,
    CustomerTierRow,
    InboundUpdateRow,
    LoyaltyRedemptionRow,
    MarketingConsentLogRow,
    MessageLogRow,
    NpsSurveyRow,
    OutboxRow,
    SupportRequestRow,
    TakeoverRow,
    TicketEventRow,
    TicketRatingRow,
    TicketRow,
)

logger = logging.getLogger(__name__)

NO_KEY = (
    "no encryption key is configured: set RAPPORT_ENCRYPTION_KEY "
    "(make one with `rapport customer new-key`); rapport stores no personal data without it"
)

#: Tables whose rows belong to one customer through ``customer_id`` and move with the record.
_OWNED = (
    CustomerOrderRow,
    CustomerPaidDayRow,
    CustomerRfmRow,
    CustomerTierRow,
    CustomerTierHistoryRow,
    CustomerProfileRow,
    MarketingConsentLogRow,  # the target's own entries stay; the record's join them
    CouponRow,
    LoyaltyRedemptionRow,
)


def require(cipher: PersonalDataCipher | None) -> PersonalDataCipher:
    if cipher is None:
        raise PersonalDataError(NO_KEY)
    return cipher


def profile_values(profile: CustomerProfile, cipher: PersonalDataCipher | None) -> dict[str, Any]:
    """Column values of `profile`: personal fields only as ciphertext and blind index."""
    values: dict[str, Any] = {
        "customer_id": profile.customer_id,
        "tags": list(profile.tags),
        "marketing_consent": profile.marketing_consent,
        "marketing_consent_at": profile.marketing_consent_at,
        "phone_enc": None,
        "phone_index": None,
        "email_enc": None,
        "email_index": None,
        "birthday_enc": None,
    }
    if profile.has_personal_data:
        c = require(cipher)
        if profile.phone:
            values["phone_enc"] = c.encrypt(profile.phone, "phone")
            values["phone_index"] = c.blind_index(profile.phone, "phone")
        if profile.email:
            values["email_enc"] = c.encrypt(profile.email, "email")
            values["email_index"] = c.blind_index(profile.email, "email")
        if profile.birthday:
            values["birthday_enc"] = c.encrypt(profile.birthday.isoformat(), "birthday")
    return values


def profile_from_row(
    row: CustomerProfileRow, cipher: PersonalDataCipher | None
) -> CustomerProfile:
    encrypted = row.phone_enc or row.email_enc or row.birthday_enc
    c = require(cipher) if encrypted else None
    birthday = c.decrypt(row.birthday_enc, "birthday") if c and row.birthday_enc else None
    return CustomerProfile(
        customer_id=row.customer_id,
        phone=c.decrypt(row.phone_enc, "phone") if c and row.phone_enc else None,
        email=c.decrypt(row.email_enc, "email") if c and row.email_enc else None,
        birthday=date.fromisoformat(birthday) if birthday else None,
        tags=tuple(row.tags),
        marketing_consent=row.marketing_consent,
        marketing_consent_at=row.marketing_consent_at,
    )


def tier_info_from_row(row: CustomerTierRow) -> TierInfo:
    return TierInfo(
        customer_id=row.customer_id,
        tier=Tier(row.tier),
        lifecycle=Lifecycle(row.lifecycle),
        segment=Segment(row.segment) if row.segment else None,
        recency_days=row.recency_days,
        frequency=row.frequency,
        monetary_cents=row.monetary_cents,
        r_score=row.r_score,
        f_score=row.f_score,
        m_score=row.m_score,
        as_of=row.as_of,
    )


def _plain(row: Any, *exclude: str) -> dict[str, object]:
    """A row's columns as JSON-friendly values (dates and times as ISO 8601)."""
    out: dict[str, object] = {}
    for column in row.__table__.columns:
        if column.name in exclude:
            continue
        value = getattr(row, column.name)
        out[column.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class SqlCustomerRecords:
    """:class:`bot.core.ports.CustomerRecordRepository` over ``customer`` and
    ``customer_profile`` (and, for absorb/export/forget, every table of the customer)."""

    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher | None) -> None:
        self._session = session
        self._cipher = cipher

    async def get_by_ref(self, customer_ref: str) -> Customer | None:
        stmt = select(CustomerRow).where(col(CustomerRow.customer_ref) == customer_ref)
        row = (await self._session.scalars(stmt)).first()
        return None if row is None else customer_from_row(row)

    async def profile(self, customer_id: int) -> CustomerProfile | None:
        row = await self._session.get(CustomerProfileRow, customer_id)
        return None if row is None else profile_from_row(row, self._cipher)

    async def save_profile(self, profile: CustomerProfile) -> None:
        values = profile_values(profile, self._cipher)
        row = await self._session.get(CustomerProfileRow, profile.customer_id)
        if row is None:
            self._session.add(CustomerProfileRow(**values))
        else:
            for name, value in values.items():
                setattr(row, name, value)

    async def consent(self, customer_id: int) -> ConsentState:
        stmt = select(
            col(CustomerProfileRow.marketing_consent), col(CustomerProfileRow.marketing_consent_at)
        ).where(col(CustomerProfileRow.customer_id) == customer_id)
        found = (await self._session.execute(stmt)).first()
        return ConsentState() if found is None else ConsentState(bool(found[0]), found[1])

    async def record_consent(self, change: ConsentChange) -> None:
        row = await self._session.get(CustomerProfileRow, change.customer_id)
        if row is None:
            self._session.add(
                CustomerProfileRow(
                    customer_id=change.customer_id,
                    tags=[],
                    marketing_consent=change.consent,
                    marketing_consent_at=change.at,
                )
            )
        else:
            row.marketing_consent, row.marketing_consent_at = change.consent, change.at
        self._session.add(
            MarketingConsentLogRow(
                customer_id=change.customer_id,
                consent=change.consent,
                source=change.source.value,
                at=change.at,
            )
        )
        await self._session.flush()

    async def consent_log(self, customer_id: int) -> list[ConsentChange]:
        stmt = (
            select(MarketingConsentLogRow)
            .where(col(MarketingConsentLogRow.customer_id) == customer_id)
            .order_by(col(MarketingConsentLogRow.at), col(MarketingConsentLogRow.id))
        )
        return [
            ConsentChange(r.customer_id, r.consent, ConsentSource(r.source), r.at)
            for r in (await self._session.scalars(stmt)).all()
        ]

    async def find_by_phone(self, phone: str) -> list[Customer]:
        index = require(self._cipher).blind_index(phone, "phone")
        stmt = (
            select(CustomerRow)
            .join(CustomerProfileRow, col(CustomerProfileRow.customer_id) == col(CustomerRow.id))
            .where(col(CustomerProfileRow.phone_index) == index)
            .order_by(col(CustomerRow.id))
        )
        return [customer_from_row(row) for row in (await self._session.scalars(stmt)).all()]

    async def absorb(self, source_id: int, target_id: int) -> None:
        source = await self._session.get(CustomerRow, source_id)
        target = await self._session.get(CustomerRow, target_id)
        if source is None or target is None:
            raise LookupError(f"no customer {source_id if source is None else target_id}")
        session = self._session
        moved = await session.get(CustomerProfileRow, source_id)
        if moved is not None:
            own = await self.consent(target_id)
            mine = moved.marketing_consent_at
            if own.at is not None and (mine is None or own.at > mine):
                # what the customer said in the chat is newer than what the shop knew
                moved.marketing_consent, moved.marketing_consent_at = own.consent, own.at
                await session.flush()
            await session.execute(
                delete(CustomerProfileRow).where(col(CustomerProfileRow.customer_id) == target_id)
            )
        # The Telegram customer has no orders of its own; its prospect standing gives way.
        standing: tuple[Any, ...] = (CustomerPaidDayRow, CustomerRfmRow, CustomerTierRow)
        for table in standing:
            await session.execute(delete(table).where(table.customer_id == target_id))
        owned: tuple[Any, ...] = _OWNED
        for table in owned:
            await session.execute(
                update(table)
                .where(table.customer_id == source_id)
                .values(customer_id=target_id)
                .execution_options(synchronize_session=False)
            )
        ref = source.customer_ref
        target.language = target.language or source.language
        target.timezone = target.timezone or source.timezone
        source.customer_ref = None
        await session.flush()
        await session.delete(source)
        await session.flush()
        target.customer_ref = ref
        await session.flush()
        logger.info("customer %s linked to imported record %s", target_id, source_id)

    async def export(self, customer_id: int) -> CustomerExport:
        session = self._session
        customer = await session.get(CustomerRow, customer_id)
        if customer is None:
            raise LookupError(f"no customer {customer_id}")
        profile = await self.profile(customer_id)
        tier = await session.get(CustomerTierRow, customer_id)

        async def rows(table: Any, *order: Any) -> list[Any]:
            stmt = select(table).where(table.customer_id == customer_id).order_by(*order)
            return list((await session.scalars(stmt)).all())

        tickets = await rows(TicketRow, TicketRow.id)
        ticket_ids = [t.id for t in tickets if t.id is not None]
        return CustomerExport(
            customer=_plain(customer),
            profile=None
            if profile is None
            else {
                "phone": profile.phone,
                "email": profile.email,
                "birthday": profile.birthday.isoformat() if profile.birthday else None,
                "tags": list(profile.tags),
                "marketing_consent": profile.marketing_consent,
                "marketing_consent_at": profile.marketing_consent_at.isoformat()
                if profile.marketing_consent_at
                else None,
            },
            standing=None if tier is None else _plain(tier, "customer_id"),
            tier_history=[
                _plain(r, "id", "customer_id")
                for r in await rows(CustomerTierHistoryRow, CustomerTierHistoryRow.id)
            ],
            orders=[
                _plain(r, "id", "customer_id")
                for r in await rows(CustomerOrderRow, CustomerOrderRow.created_at)
            ],
            messages=[
                _plain(r, "customer_id") for r in await rows(MessageLogRow, MessageLogRow.id)
            ],
            requests=[
                _plain(r, "customer_id")
                for r in await rows(SupportRequestRow, SupportRequestRow.id)
            ],
            tickets=[_plain(r, "customer_id") for r in tickets],
            ticket_events=[
                _plain(r)
                for r in await self._of_tickets(TicketEventRow, ticket_ids, TicketEventRow.id)
            ],
            ratings=[
                _plain(r)
                for r in await self._of_tickets(
                    TicketRatingRow, ticket_ids, TicketRatingRow.rated_at
                )
            ],
            consent_log=[
                _plain(r, "id", "customer_id")
                for r in await rows(MarketingConsentLogRow, MarketingConsentLogRow.id)
            ],
            surveys=[_plain(r, "customer_id") for r in await rows(NpsSurveyRow, NpsSurveyRow.id)],
        )

    async def _of_tickets(self, table: Any, ticket_ids: list[int], order: Any) -> list[Any]:
        if not ticket_ids:
            return []
        stmt = select(table).where(col(table.ticket_id).in_(ticket_ids)).order_by(order)
        return list((await self._session.scalars(stmt)).all())

    async def forget(self, customer_id: int) -> None:
        session = self._session
        customer = await session.get(CustomerRow, customer_id)
        if customer is None:
            raise LookupError(f"no customer {customer_id}")
        chat_id = customer.chat_id
        tickets = select(col(TicketRow.id)).where(col(TicketRow.customer_id) == customer_id)
        if chat_id is not None:  # a dialogue in progress, and updates not yet handled, hold
            # the customer's words; asked to forget them, the bot will not answer those either
            for chat_table in (ConversationRow, InboundUpdateRow):
                await session.execute(delete(chat_table).where(col(chat_table.chat_id) == chat_id))
        # Messages to or about the customer: their words go; what was not sent yet never is.
        about = or_(
            col(OutboxRow.about_customer_id) == customer_id,
            col(OutboxRow.chat_id) == (chat_id if chat_id is not None else 0),
        )
        await session.execute(
            update(OutboxRow)
            .where(about, col(OutboxRow.state).in_(("pending", "sending", "failed", "paused")))
            .values(state="skipped", last_error="the customer's data was erased")
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(OutboxRow)
            .where(about)
            .values(text="", buttons="[]")
            .execution_options(synchronize_session=False)
        )
        for table in (TakeoverRow, CustomerAdvisorRow):
            await session.execute(delete(table).where(col(table.customer_id) == customer_id))
        # Tickets stay, for counts and reports; what the customer said, and staff notes that
        # may quote them, go.
        await session.execute(
            update(TicketRow)
            .where(col(TicketRow.customer_id) == customer_id)
            .values(
                text="",
                summary=None,
                order_ref=None,
                chat_id=0,
                attachments=[],
                signals=[],
                remediation_plan=None,
                department=None,
            )
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(TicketEventRow)
            .where(col(TicketEventRow.ticket_id).in_(tickets))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(TicketRatingRow)
            .where(col(TicketRatingRow.ticket_id).in_(tickets))
            .values(comment=None)
            .execution_options(synchronize_session=False)
        )
        # Survey scores stay for the NPS report (anonymous once the customer row is); their
        # words go.
        await session.execute(
            update(NpsSurveyRow)
            .where(col(NpsSurveyRow.customer_id) == customer_id)
            .values(comment=None)
            .execution_options(synchronize_session=False)
        )
        customer.telegram_user_id = None
        customer.chat_id = None
        customer.customer_ref = None
        customer.display_name = ""
        customer.first_name = ""
        customer.username = None
        # The consent log goes with the profile. Coupons and the loyalty ledger stay, as the
        # orders do: codes, amounts and order ids, anonymous once the customer row is.
        for owned in (CustomerProfileRow, MarketingConsentLogRow):
            await session.execute(delete(owned).where(col(owned.customer_id) == customer_id))
        await session.execute(
            update(MessageLogRow)
            .where(col(MessageLogRow.customer_id) == customer_id)
            .values(text=None, chat_id=0)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(SupportRequestRow)
            .where(col(SupportRequestRow.customer_id) == customer_id)
            .values(text="", chat_id=0)
            .execution_options(synchronize_session=False)
        )
        await session.flush()
        logger.info("personal data of customer %s erased", customer_id)


class SqlCustomerTiers:
    """:class:`bot.core.ports.CustomerTiers` over ``customer_tier`` and its history."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def tier_of(self, customer_id: int) -> Tier | None:
        stmt = select(col(CustomerTierRow.tier)).where(
            col(CustomerTierRow.customer_id) == customer_id
        )
        value = (await self._session.execute(stmt)).scalar_one_or_none()
        return None if value is None else Tier(value)

    async def standing(self, customer_id: int) -> TierInfo | None:
        row = await self._session.get(CustomerTierRow, customer_id)
        return None if row is None else tier_info_from_row(row)

    async def history(self, customer_id: int) -> list[TierChange]:
        stmt = (
            select(CustomerTierHistoryRow)
            .where(col(CustomerTierHistoryRow.customer_id) == customer_id)
            .order_by(col(CustomerTierHistoryRow.id))
        )
        return [
            TierChange(
                customer_id=r.customer_id,
                as_of=r.as_of,
                old_tier=Tier(r.old_tier) if r.old_tier else None,
                new_tier=Tier(r.new_tier),
            )
            for r in (await self._session.scalars(stmt)).all()
        ]
