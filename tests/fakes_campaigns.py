"""In-memory campaigns for :mod:`tests.fakes`, held to :mod:`storage.campaigns` by the
contract tests. A recipient's delivery is its outbox row, found by the same key."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.campaigns.model import (
    CANCELLED_REASON,
    Campaign,
    CampaignState,
    Recipient,
    RecipientStatus,
    key_prefix,
    recipient_key,
)
from bot.core.campaigns.uplift import OrderRecord, RecipientOutcome
from bot.core.coupons import CouponSource
from bot.core.outbox_model import OutboxMessage, OutboxState

if TYPE_CHECKING:
    from tests.fakes import MemoryStore

_IN_FLIGHT = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.PAUSED)


class MemoryCampaigns:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def add(self, campaign: Campaign) -> Campaign:
        campaign.id = next(self._work.ids)
        self._work.campaigns[campaign.id] = copy.deepcopy(campaign)
        return campaign

    async def get(self, campaign_id: int, *, for_update: bool = False) -> Campaign | None:
        found = self._work.campaigns.get(campaign_id)
        return copy.deepcopy(found) if found is not None else None

    async def all(self) -> list[Campaign]:
        return [copy.deepcopy(c) for _, c in sorted(self._work.campaigns.items(), reverse=True)]

    async def save(self, campaign: Campaign) -> None:
        stored = self._work.campaigns.get(campaign.id or 0)
        if stored is not None:  # the spec never changes
            self._work.campaigns[stored.id or 0] = replace(
                copy.deepcopy(campaign), spec=stored.spec
            )

    async def due(self, now: datetime) -> list[int]:
        due = [
            c
            for c in self._work.campaigns.values()
            if c.state is CampaignState.SCHEDULED
            and c.next_run_at is not None
            and c.next_run_at <= now
        ]
        return [c.id or 0 for c in sorted(due, key=lambda c: (c.next_run_at, c.id))]

    async def running(self) -> list[int]:
        return sorted(
            c.id or 0 for c in self._work.campaigns.values() if c.state is CampaignState.RUNNING
        )

    async def add_recipients(self, recipients: Sequence[Recipient]) -> None:
        for r in recipients:
            key = (r.campaign_id, r.run, r.customer_id)
            if key in self._work.recipients:
                raise ValueError("this recipient is frozen already")
            self._work.recipients[key] = copy.deepcopy(r)

    def _of(self, campaign_id: int) -> list[Recipient]:
        return [
            r
            for key, r in sorted(
                self._work.recipients.items(), key=lambda item: (item[0][1], item[0][2])
            )
            if key[0] == campaign_id
        ]

    async def pending(self, campaign_id: int, run: int, limit: int) -> list[Recipient]:
        found = [
            copy.deepcopy(r)
            for r in self._of(campaign_id)
            if r.run == run and r.status is RecipientStatus.PENDING
        ]
        return found[:limit]

    async def decide(self, recipients: Sequence[Recipient]) -> None:
        for r in recipients:
            stored = self._work.recipients.get((r.campaign_id, r.run, r.customer_id))
            if stored is not None and stored.status is RecipientStatus.PENDING:
                stored.status, stored.reason = r.status, r.reason[:64]
                stored.held, stored.not_before, stored.decided_at = (
                    r.held,
                    r.not_before,
                    r.decided_at,
                )

    async def cancel_pending(self, campaign_id: int, at: datetime) -> int:
        cancelled = 0
        for r in self._of(campaign_id):
            if r.status is RecipientStatus.PENDING:
                r.status, r.decided_at = RecipientStatus.CANCELLED, at
                cancelled += 1
        return cancelled

    async def in_outbox(self, campaign_id: int) -> int:
        prefix = key_prefix(campaign_id)
        return sum(
            1
            for row in self._work.outbox.values()
            if row.key.startswith(prefix) and row.state in _IN_FLIGHT
        )

    async def lock_running(self, campaign_id: int) -> bool:
        found = self._work.campaigns.get(campaign_id)
        return found is not None and found.state is CampaignState.RUNNING

    def _rows(self, campaign_id: int, *states: OutboxState) -> list[OutboxMessage]:
        prefix = key_prefix(campaign_id)
        rows = self._work.outbox.values()
        return [r for r in rows if r.key.startswith(prefix) and r.state in states]

    async def pause_outbox(self, campaign_id: int) -> int:
        rows = self._rows(campaign_id, OutboxState.PENDING)
        for row in rows:
            row.state = OutboxState.PAUSED
        return len(rows)

    async def resume_outbox(self, campaign_id: int) -> int:
        rows = self._rows(campaign_id, OutboxState.PAUSED)
        for row in rows:
            row.state = OutboxState.PENDING
        return len(rows)

    async def cancel_outbox(self, campaign_id: int, at: datetime) -> int:
        rows = self._rows(campaign_id, OutboxState.PENDING, OutboxState.PAUSED)
        for row in rows:
            row.state, row.last_error = OutboxState.SKIPPED, CANCELLED_REASON
        keys = {row.key for row in rows}
        for r in self._of(campaign_id):
            key = recipient_key(campaign_id, r.run, r.customer_id)
            if r.status is RecipientStatus.QUEUED and key in keys:
                r.status, r.decided_at = RecipientStatus.CANCELLED, at
        coupons = self._work.coupons
        for coupon_id in [
            coupon_id
            for coupon_id, c in coupons.items()
            if c.source is CouponSource.CAMPAIGN and c.source_ref in keys and c.redeemed_at is None
        ]:
            del coupons[coupon_id]
        return len(rows)

    async def progress(self, campaign_id: int) -> dict[str, int]:
        return dict(Counter(r.status.value for r in self._of(campaign_id)))

    async def outcomes(self, campaign_id: int, run: int | None = None) -> list[RecipientOutcome]:
        rows = {row.key: row for row in self._work.outbox.values()}
        found = []
        for r in self._of(campaign_id):
            if run is not None and r.run != run:
                continue
            row = rows.get(recipient_key(campaign_id, r.run, r.customer_id))
            found.append(
                RecipientOutcome(
                    customer_id=r.customer_id,
                    holdout=r.holdout,
                    status=r.status,
                    reason=r.reason,
                    held=r.held,
                    at=r.not_before,
                    outbox_state=row.state if row is not None else None,
                    outbox_error=row.last_error if row is not None else None,
                )
            )
        return found

    async def orders_of(
        self, customer_ids: Collection[int], since: datetime, until: datetime
    ) -> list[OrderRecord]:
        return [
            OrderRecord(customer_id, o.created_at, o.amount_cents, o.status.counts_as_paid)
            for customer_id in sorted(set(customer_ids))
            for o in self._work.orders.get(customer_id, ())
            if since <= o.created_at < until
        ]

    async def coupons(self, campaign_id: int) -> tuple[int, int]:
        prefix = key_prefix(campaign_id)
        mine = [
            c
            for c in self._work.coupons.values()
            if c.source is CouponSource.CAMPAIGN and c.source_ref.startswith(prefix)
        ]
        return len(mine), sum(1 for c in mine if c.redeemed_at is not None)
