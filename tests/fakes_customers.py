"""In-memory customer records and tiers for :mod:`tests.fakes` (issue #5).

Contact data is kept in plain text: the fake has nothing at rest to protect; the SQL
implementation's encryption is covered by the integration tests.
"""

from __future__ import annotations

import copy
from dataclasses import fields, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from bot.core.consent import ConsentChange, ConsentState
from bot.core.models import Customer
from bot.core.outbox_model import OutboxState
from bot.core.records import CustomerExport, CustomerProfile, TierChange, TierInfo
from bot.core.tiers import Tier

if TYPE_CHECKING:
    from tests.fakes import MemoryStore


def plain(record: Any, *exclude: str) -> dict[str, object]:
    """A dataclass as an export holds a row: JSON-friendly values (enums as their values,
    dates and times as ISO 8601) by field name — the fields are named as the columns."""
    out: dict[str, object] = {}
    for f in fields(record):
        if f.name in exclude:
            continue
        value = getattr(record, f.name)
        if isinstance(value, Enum):
            value = value.value
        out[f.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class MemoryCustomerRecords:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def get_by_ref(self, customer_ref: str) -> Customer | None:
        for c in self._work.customers.values():
            if c.customer_ref == customer_ref:
                return copy.deepcopy(c)
        return None

    async def profile(self, customer_id: int) -> CustomerProfile | None:
        found = self._work.profiles.get(customer_id)
        return copy.deepcopy(found) if found else None

    async def save_profile(self, profile: CustomerProfile) -> None:
        self._work.profiles[profile.customer_id] = copy.deepcopy(profile)

    async def consent(self, customer_id: int) -> ConsentState:
        found = self._work.profiles.get(customer_id)
        if found is None:
            return ConsentState()
        return ConsentState(found.marketing_consent, found.marketing_consent_at)

    async def record_consent(self, change: ConsentChange) -> None:
        profile = self._work.profiles.get(change.customer_id) or CustomerProfile(
            change.customer_id
        )
        self._work.profiles[change.customer_id] = replace(
            profile, marketing_consent=change.consent, marketing_consent_at=change.at
        )
        self._work.consent_log[next(self._work.ids)] = change

    async def consent_log(self, customer_id: int) -> list[ConsentChange]:
        log = self._work.consent_log
        return [log[n] for n in sorted(log) if log[n].customer_id == customer_id]

    async def find_by_phone(self, phone: str) -> list[Customer]:
        ids = sorted(cid for cid, p in self._work.profiles.items() if p.phone == phone)
        return [copy.deepcopy(self._work.customers[cid]) for cid in ids]

    def _customer(self, customer_id: int) -> Customer:
        found = self._work.customers.get(customer_id)
        if found is None:
            raise LookupError(f"no customer {customer_id}")
        return found

    async def absorb(self, source_id: int, target_id: int) -> None:
        source, target = self._customer(source_id), self._customer(target_id)
        del self._work.customers[source_id]
        # The Telegram customer has no orders of its own; its prospect standing gives way.
        self._work.standings.pop(target_id, None)
        target.customer_ref = source.customer_ref
        target.language = target.language or source.language
        target.timezone = target.timezone or source.timezone
        if source_id in self._work.profiles:
            moved = replace(self._work.profiles.pop(source_id), customer_id=target_id)
            own = await self.consent(target_id)
            mine = moved.marketing_consent_at
            if own.at is not None and (mine is None or own.at > mine):
                moved = replace(moved, marketing_consent=own.consent, marketing_consent_at=own.at)
            self._work.profiles[target_id] = moved
        for n, change in self._work.consent_log.items():
            if change.customer_id == source_id:
                self._work.consent_log[n] = replace(change, customer_id=target_id)
        if source_id in self._work.standings:
            self._work.standings[target_id] = replace(
                self._work.standings.pop(source_id), customer_id=target_id
            )
        self._work.tier_history[:] = [
            replace(h, customer_id=target_id) if h.customer_id == source_id else h
            for h in self._work.tier_history
        ]

    async def export(self, customer_id: int) -> CustomerExport:
        """What the SQL export holds, but orders: the fake has none."""
        work = self._work
        customer = self._customer(customer_id)
        profile = work.profiles.get(customer_id)
        standing = work.standings.get(customer_id)
        return CustomerExport(
            customer=plain(customer),
            profile=None
            if profile is None
            else {**plain(profile, "customer_id"), "tags": list(profile.tags)},
            standing=None if standing is None else plain(standing, "customer_id"),
            tier_history=[
                plain(h, "customer_id") for h in work.tier_history if h.customer_id == customer_id
            ],
            messages=[
                plain(m, "customer_id") for m in work.messages if m.customer_id == customer_id
            ],
            requests=[
                plain(r, "customer_id") for r in work.requests if r.customer_id == customer_id
            ],
            consent_log=[plain(c, "customer_id") for c in await self.consent_log(customer_id)],
            surveys=[
                plain(v, "customer_id")
                for v in work.surveys.values()
                if v.customer_id == customer_id
            ],
        )

    async def forget(self, customer_id: int) -> None:
        customer = self._customer(customer_id)
        work = self._work
        if customer.chat_id is not None:
            work.conversations.pop(customer.chat_id, None)
            for update_id in [u for u, i in work.inbox.items() if i.chat_id == customer.chat_id]:
                del work.inbox[update_id]
        work.advisors.pop(customer_id, None)
        for survey in work.surveys.values():
            if survey.customer_id == customer_id:
                survey.comment = None
        for row in work.outbox.values():
            message = row.message
            if message.about_customer_id == customer_id or message.chat_id == customer.chat_id:
                if row.state in (
                    OutboxState.PENDING,
                    OutboxState.SENDING,
                    OutboxState.FAILED,
                    OutboxState.PAUSED,
                ):
                    row.state = OutboxState.SKIPPED
                    row.last_error = "the customer's data was erased"
                row.message = replace(message, text="", buttons=())
        for chat_id in [c for c, t in work.takeovers.items() if t.customer_id == customer_id]:
            del work.takeovers[chat_id]
        mine = {i for i, t in work.tickets.items() if t.customer_id == customer_id}
        for i in mine:
            work.tickets[i] = replace(
                work.tickets[i],
                text="",
                summary=None,
                order_ref=None,
                chat_id=0,
                attachments=[],
                signals=[],
                remediation_plan=None,
                department=None,
            )
        work.events[:] = [replace(e, note=None) if e.ticket_id in mine else e for e in work.events]
        for i in mine & set(work.ratings):
            work.ratings[i] = replace(work.ratings[i], comment=None)
        customer.telegram_user_id = customer.chat_id = customer.customer_ref = None
        customer.display_name = customer.first_name = ""
        customer.username = None
        self._work.profiles.pop(customer_id, None)
        for n in [n for n, c in work.consent_log.items() if c.customer_id == customer_id]:
            del work.consent_log[n]
        for m in self._work.messages:
            if m.customer_id == customer_id:
                m.text, m.chat_id = None, 0
        for r in self._work.requests:
            if r.customer_id == customer_id:
                r.text, r.chat_id = "", 0


class MemoryCustomerTiers:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def tier_of(self, customer_id: int) -> Tier | None:
        found = self._work.standings.get(customer_id)
        return None if found is None else found.tier

    async def standing(self, customer_id: int) -> TierInfo | None:
        return self._work.standings.get(customer_id)

    async def history(self, customer_id: int) -> list[TierChange]:
        return [h for h in self._work.tier_history if h.customer_id == customer_id]
