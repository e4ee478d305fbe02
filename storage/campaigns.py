""":class:`bot.core.ports.CampaignRepository` over the ``campaign`` and
``campaign_recipient`` tables; a recipient's delivery is read from its outbox row, found by
the key ``campaign:<campaign>:<run>:<customer>`` (one join, however large the campaign)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.campaigns.codec import spec_data, spec_from_data
from bot.core.campaigns.model import (
    CANCELLED_REASON,
    Campaign,
    CampaignState,
    Recipient,
    RecipientStatus,
    key_prefix,
)
from bot.core.campaigns.uplift import OrderRecord, RecipientOutcome
from bot.core.coupons import CouponSource
from bot.core.outbox_model import OutboxState
from bot.core.records import OrderStatus
from storage.tables.campaigns import CampaignRecipientRow, CampaignRow
from storage.tables.coupons import CouponRow
from storage.tables.customers import CustomerOrderRow
from storage.tables.outbox import OutboxRow

_IN_FLIGHT = (OutboxState.PENDING.value, OutboxState.SENDING.value, OutboxState.PAUSED.value)
_UNSENT = (OutboxState.PENDING.value, OutboxState.PAUSED.value)
"""Rows no sender holds: a pause or cancel can still keep them back."""


def _campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        spec=spec_from_data(json.loads(row.spec)),
        state=CampaignState(row.state),
        seed=row.seed,
        created_at=row.created_at,
        created_by=row.created_by,
        next_run_at=row.next_run_at,
        run=row.run,
        run_started_at=row.run_started_at,
        cursor=row.cursor,
        frozen=row.frozen,
        id=row.id,
    )


def _recipient(row: CampaignRecipientRow) -> Recipient:
    return Recipient(
        campaign_id=row.campaign_id,
        run=row.run,
        customer_id=row.customer_id,
        holdout=row.holdout,
        status=RecipientStatus(row.status),
        reason=row.reason,
        held=row.held,
        not_before=row.not_before,
        decided_at=row.decided_at,
    )


def _outbox_key(campaign_id: int) -> ColumnElement[str]:
    """``campaign:<campaign>:<run>:<customer>`` built in SQL (``||``, portable to
    PostgreSQL), as :func:`bot.core.campaigns.model.recipient_key` builds it in Python."""
    return (
        literal(key_prefix(campaign_id), String)
        + cast(col(CampaignRecipientRow.run), String)
        + literal(":", String)
        + cast(col(CampaignRecipientRow.customer_id), String)
    )


def _keys_of(campaign_id: int) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The campaign's outbox keys as a range (``campaign:7:`` ≤ key < ``campaign:7;``, the
    character after ``:``), which the unique index on the key serves on SQLite and
    PostgreSQL alike, unlike ``LIKE 'campaign:7:%'``."""
    prefix = key_prefix(campaign_id)
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    key = col(OutboxRow.idempotency_key)
    return key >= prefix, key < after


class SqlCampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, campaign: Campaign) -> Campaign:
        row = CampaignRow(
            name=campaign.spec.name,
            state=campaign.state.value,
            spec=json.dumps(spec_data(campaign.spec), ensure_ascii=False),
            holdout=campaign.spec.holdout,
            seed=campaign.seed,
            created_at=campaign.created_at,
            created_by=campaign.created_by,
            next_run_at=campaign.next_run_at,
            run=campaign.run,
            run_started_at=campaign.run_started_at,
            cursor=campaign.cursor,
            frozen=campaign.frozen,
        )
        self._session.add(row)
        await self._session.flush()
        assert row.id is not None
        campaign.id = row.id
        return campaign

    async def get(self, campaign_id: int, *, for_update: bool = False) -> Campaign | None:
        query = select(CampaignRow).where(col(CampaignRow.id) == campaign_id)
        if for_update:  # SELECT … FOR UPDATE on PostgreSQL; SQLite's one writer already waits
            query = query.with_for_update().execution_options(populate_existing=True)
        row = (await self._session.scalars(query)).first()
        return _campaign(row) if row is not None else None

    async def all(self) -> list[Campaign]:
        rows = await self._session.scalars(
            select(CampaignRow).order_by(col(CampaignRow.id).desc())
        )
        return [_campaign(row) for row in rows.all()]

    async def save(self, campaign: Campaign) -> None:
        await self._session.execute(
            update(CampaignRow)
            .where(col(CampaignRow.id) == campaign.id)
            .values(
                state=campaign.state.value,
                next_run_at=campaign.next_run_at,
                run=campaign.run,
                run_started_at=campaign.run_started_at,
                cursor=campaign.cursor,
                frozen=campaign.frozen,
            )
        )

    async def due(self, now: datetime) -> list[int]:
        rows = await self._session.execute(
            select(col(CampaignRow.id))
            .where(col(CampaignRow.state) == CampaignState.SCHEDULED.value)
            .where(col(CampaignRow.next_run_at) <= now)
            .order_by(col(CampaignRow.next_run_at), col(CampaignRow.id))
        )
        return [int(r[0] or 0) for r in rows.all()]

    async def running(self) -> list[int]:
        rows = await self._session.execute(
            select(col(CampaignRow.id))
            .where(col(CampaignRow.state) == CampaignState.RUNNING.value)
            .order_by(col(CampaignRow.id))
        )
        return [int(r[0] or 0) for r in rows.all()]

    async def add_recipients(self, recipients: Sequence[Recipient]) -> None:
        self._session.add_all(
            [
                CampaignRecipientRow(
                    campaign_id=r.campaign_id,
                    run=r.run,
                    customer_id=r.customer_id,
                    holdout=r.holdout,
                    status=r.status.value,
                    reason=r.reason,
                    held=r.held,
                    not_before=r.not_before,
                    decided_at=r.decided_at,
                )
                for r in recipients
            ]
        )
        await self._session.flush()

    async def pending(self, campaign_id: int, run: int, limit: int) -> list[Recipient]:
        rows = await self._session.scalars(
            select(CampaignRecipientRow)
            .where(col(CampaignRecipientRow.campaign_id) == campaign_id)
            .where(col(CampaignRecipientRow.status) == RecipientStatus.PENDING.value)
            .where(col(CampaignRecipientRow.run) == run)
            .order_by(col(CampaignRecipientRow.customer_id))
            .limit(limit)
        )
        return [_recipient(row) for row in rows.all()]

    async def decide(self, recipients: Sequence[Recipient]) -> None:
        """One executemany ``UPDATE … WHERE campaign, run, customer AND status = 'pending'``
        for the whole batch (a statement per row was two fifths of a tick)."""
        if not recipients:
            return
        table = CampaignRecipientRow.__table__  # type: ignore[attr-defined]
        stmt = (
            update(table)
            .where(
                table.c.campaign_id == bindparam("k_campaign"),
                table.c.run == bindparam("k_run"),
                table.c.customer_id == bindparam("k_customer"),
                table.c.status == RecipientStatus.PENDING.value,
            )
            .values(
                status=bindparam("v_status"),
                reason=bindparam("v_reason"),
                held=bindparam("v_held"),
                not_before=bindparam("v_not_before"),
                decided_at=bindparam("v_decided_at"),
            )
        )
        await self._session.execute(
            stmt,
            [
                {
                    "k_campaign": r.campaign_id,
                    "k_run": r.run,
                    "k_customer": r.customer_id,
                    "v_status": r.status.value,
                    "v_reason": r.reason[:64],
                    "v_held": r.held,
                    "v_not_before": r.not_before,
                    "v_decided_at": r.decided_at,
                }
                for r in recipients
            ],
        )

    async def cancel_pending(self, campaign_id: int, at: datetime) -> int:
        result = await self._session.execute(
            update(CampaignRecipientRow)
            .where(col(CampaignRecipientRow.campaign_id) == campaign_id)
            .where(col(CampaignRecipientRow.status) == RecipientStatus.PENDING.value)
            .values(status=RecipientStatus.CANCELLED.value, decided_at=at)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def in_outbox(self, campaign_id: int) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(*_keys_of(campaign_id))
            .where(col(OutboxRow.state).in_(_IN_FLIGHT))
        )
        return int(count or 0)

    async def lock_running(self, campaign_id: int) -> bool:
        """``UPDATE campaign SET state = state WHERE id = ? AND state = 'running'``: the row
        lock (PostgreSQL; SQLite has one writer) orders this batch and a pause or cancel."""
        result = await self._session.execute(
            update(CampaignRow)
            .where(col(CampaignRow.id) == campaign_id)
            .where(col(CampaignRow.state) == CampaignState.RUNNING.value)
            .values(state=CampaignState.RUNNING.value)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def _move_outbox(self, campaign_id: int, old: Sequence[str], **values: str) -> int:
        result = await self._session.execute(
            update(OutboxRow)
            .where(*_keys_of(campaign_id))
            .where(col(OutboxRow.state).in_(list(old)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def pause_outbox(self, campaign_id: int) -> int:
        paused = OutboxState.PAUSED.value
        return await self._move_outbox(campaign_id, [OutboxState.PENDING.value], state=paused)

    async def resume_outbox(self, campaign_id: int) -> int:
        pending = OutboxState.PENDING.value
        return await self._move_outbox(campaign_id, [OutboxState.PAUSED.value], state=pending)

    async def cancel_outbox(self, campaign_id: int, at: datetime) -> int:
        """The rows first (a sender may claim one meanwhile: then it is not skipped here),
        then the recipients whose row this (or an earlier) cancel skipped, then the coupons
        those rows would have offered (never shown to anyone, so withdrawn)."""
        skipped = await self._move_outbox(
            campaign_id, _UNSENT, state=OutboxState.SKIPPED.value, last_error=CANCELLED_REASON
        )
        kept_back = exists().where(
            col(OutboxRow.idempotency_key) == _outbox_key(campaign_id),
            col(OutboxRow.state) == OutboxState.SKIPPED.value,
            col(OutboxRow.last_error) == CANCELLED_REASON,
        )
        await self._session.execute(
            update(CampaignRecipientRow)
            .where(col(CampaignRecipientRow.campaign_id) == campaign_id)
            .where(col(CampaignRecipientRow.status) == RecipientStatus.QUEUED.value)
            .where(kept_back)
            .values(status=RecipientStatus.CANCELLED.value, decided_at=at)
            .execution_options(synchronize_session=False)
        )
        never_offered = select(col(OutboxRow.idempotency_key)).where(
            col(OutboxRow.idempotency_key).like(f"{key_prefix(campaign_id)}%"),
            col(OutboxRow.state) == OutboxState.SKIPPED.value,
            col(OutboxRow.last_error) == CANCELLED_REASON,
        )
        await self._session.execute(
            delete(CouponRow)
            .where(col(CouponRow.source) == CouponSource.CAMPAIGN.value)
            .where(col(CouponRow.source_ref).in_(never_offered))
            .where(col(CouponRow.redeemed_at).is_(None))
            .execution_options(synchronize_session=False)
        )
        return skipped

    async def progress(self, campaign_id: int) -> dict[str, int]:
        rows = await self._session.execute(
            select(col(CampaignRecipientRow.status), func.count())
            .where(col(CampaignRecipientRow.campaign_id) == campaign_id)
            .group_by(col(CampaignRecipientRow.status))
        )
        return {status: int(n) for status, n in rows.all()}

    async def outcomes(self, campaign_id: int, run: int | None = None) -> list[RecipientOutcome]:
        key = _outbox_key(campaign_id)
        stmt = (
            select(
                CampaignRecipientRow,
                col(OutboxRow.state),
                col(OutboxRow.last_error),
            )
            .outerjoin(OutboxRow, and_(col(OutboxRow.idempotency_key) == key))
            .where(col(CampaignRecipientRow.campaign_id) == campaign_id)
            .order_by(col(CampaignRecipientRow.run), col(CampaignRecipientRow.customer_id))
        )
        if run is not None:
            stmt = stmt.where(col(CampaignRecipientRow.run) == run)
        found = []
        for row, state, error in (await self._session.execute(stmt)).all():
            found.append(
                RecipientOutcome(
                    customer_id=row.customer_id,
                    holdout=row.holdout,
                    status=RecipientStatus(row.status),
                    reason=row.reason,
                    held=row.held,
                    at=row.not_before,
                    outbox_state=OutboxState(state) if state else None,
                    outbox_error=error,
                )
            )
        return found

    async def orders_of(
        self, customer_ids: Collection[int], since: datetime, until: datetime
    ) -> list[OrderRecord]:
        ids = sorted(set(customer_ids))
        found: list[OrderRecord] = []
        for start in range(0, len(ids), 500):  # bounded IN lists
            rows = await self._session.scalars(
                select(CustomerOrderRow)
                .where(col(CustomerOrderRow.customer_id).in_(ids[start : start + 500]))
                .where(col(CustomerOrderRow.created_at) >= since)
                .where(col(CustomerOrderRow.created_at) < until)
            )
            found.extend(
                OrderRecord(
                    o.customer_id,
                    o.created_at,
                    o.amount_cents,
                    OrderStatus(o.status).counts_as_paid,
                )
                for o in rows.all()
            )
        return found

    async def coupons(self, campaign_id: int) -> tuple[int, int]:
        row = (
            await self._session.execute(
                select(func.count(), func.count(col(CouponRow.redeemed_at)))
                .where(col(CouponRow.source) == CouponSource.CAMPAIGN.value)
                .where(col(CouponRow.source_ref).like(f"{key_prefix(campaign_id)}%"))
            )
        ).one()
        return int(row[0]), int(row[1])
