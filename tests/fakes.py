"""Fakes, not mocks: an in-memory unit of work, a recording messenger, a frozen clock.

They implement the core's Protocols faithfully enough that the handlers and services are
tested exactly as they run, without a database or Telegram.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from bot.core.campaigns.model import Campaign, Recipient
from bot.core.consent import ConsentChange
from bot.core.coupons import Coupon
from bot.core.desk import Takeover
from bot.core.engagement.facts import OrderFact
from bot.core.engagement.news import NewsItem
from bot.core.errors import DeliveryError, ThreadNotFound
from bot.core.loyalty import LoyaltyOrder, LoyaltyRedemption
from bot.core.messages import Outgoing, Sent
from bot.core.models import (
    Conversation,
    Customer,
    Direction,
    LoggedMessage,
    RequestStatus,
    SupportRequest,
)
from bot.core.outbox_model import Lane, OutboxMessage, OutboxState, OutboxSummary
from bot.core.ports import (
    SLA_MARKS,
    CampaignRepository,
    ConversationRepository,
    CouponRepository,
    CustomerRecordRepository,
    CustomerRepository,
    CustomerTiers,
    DeskRepository,
    DuplicateUpdate,
    EngagementFactsReader,
    FaqMatch,
    InboundUpdate,
    InboxRepository,
    LoyaltyRepository,
    MessageLogRepository,
    NewsRepository,
    OutboxRepository,
    ProfileRepository,
    RatingRepository,
    StaffRepository,
    StaffTaskRepository,
    SupportRequestRepository,
    SurveyRepository,
    TicketRepository,
    TopicRepository,
)
from bot.core.profile import ProfileAsk, ProfileField
from bot.core.ratings import Rating, Revisit, RevisitAnswer
from bot.core.records import CustomerProfile, TierChange, TierInfo
from bot.core.roles import AuditEntry, StaffMember
from bot.core.staff_tasks import StaffTask
from bot.core.surveys import Survey
from bot.core.tickets import Level, Ticket, TicketEvent, TicketKind, TicketState, ticket_number
from bot.core.triage import Priority, Severity
from tests.fakes_campaigns import MemoryCampaigns
from tests.fakes_coupons import MemoryCoupons, MemoryLoyalty, MemoryNews
from tests.fakes_customers import MemoryCustomerRecords, MemoryCustomerTiers
from tests.fakes_engagement import (
    MemoryEngagementFacts,
    MemoryProfile,
    MemoryStaffTasks,
    MemorySurveys,
)


class FrozenClock:
    """Time stands still until a test (or a sleep) moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class ShiftedClock:
    """Real time plus an offset the test moves forward: the SLA can be made to expire
    without waiting, while sleeps (pacing) still really wait, as Telegram needs."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class MemoryStore:
    """The "database" shared by every fake unit of work of one test."""

    customers: dict[int, Customer] = field(default_factory=dict)
    messages: list[LoggedMessage] = field(default_factory=list)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    requests: list[SupportRequest] = field(default_factory=list)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    staff: dict[int, StaffMember] = field(default_factory=dict)
    advisors: dict[int, int] = field(default_factory=dict)
    audits: list[AuditEntry] = field(default_factory=list)
    takeovers: dict[int, Takeover] = field(default_factory=dict)
    topics: dict[tuple[int, int], int] = field(default_factory=dict)
    ratings: dict[int, Rating] = field(default_factory=dict)
    revisits: dict[int, Revisit] = field(default_factory=dict)
    events: list[TicketEvent] = field(default_factory=list)
    profiles: dict[int, CustomerProfile] = field(default_factory=dict)
    consent_log: dict[int, ConsentChange] = field(default_factory=dict)
    coupons: dict[int, Coupon] = field(default_factory=dict)
    loyalty_orders: dict[int, tuple[LoyaltyOrder, ...]] = field(default_factory=dict)
    """Customer id → their orders as loyalty reads them (SQL derives them from its orders)."""
    loyalty_ledger: dict[int, LoyaltyRedemption] = field(default_factory=dict)
    news: dict[int, NewsItem] = field(default_factory=dict)
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    recipients: dict[tuple[int, int, int], Recipient] = field(default_factory=dict)
    """(campaign, run, customer) → the frozen recipient."""
    tasks: dict[int, StaffTask] = field(default_factory=dict)
    surveys: dict[int, Survey] = field(default_factory=dict)
    profile_asks: dict[tuple[int, ProfileField], ProfileAsk] = field(default_factory=dict)
    """Entry number → consent change (a dict: erasure deletes entries)."""
    standings: dict[int, TierInfo] = field(default_factory=dict)
    tier_history: list[TierChange] = field(default_factory=list)
    inbox: dict[int, InboundUpdate] = field(default_factory=dict)
    outbox: dict[int, OutboxMessage] = field(default_factory=dict)
    orders: dict[int, tuple[OrderFact, ...]] = field(default_factory=dict)
    """Customer id → their orders, for the engagement read model (SQL keeps them in tables)."""
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def a_ticket(
    customer_id: int, chat_id: int, state: TicketState, at: datetime, text: str = "broken"
) -> Ticket:
    """A quality complaint in `state`, opened at `at` with both SLA deadlines then — for tests
    that need a ticket to exist, not to be worked."""
    return Ticket(
        customer_id,
        chat_id,
        TicketKind.COMPLAINT,
        Severity.QUALITY,
        Priority.NORMAL,
        state,
        Level.AGENT,
        text,
        at,
        at,
        at,
        at,
    )


def _by_time_and_id(message: LoggedMessage) -> tuple[datetime, int]:
    return message.at, message.id or 0


class _Customers:
    def __init__(self, data: dict[int, Customer], ids: itertools.count[int]) -> None:
        self._data, self._ids = data, ids

    async def get(self, customer_id: int) -> Customer | None:
        found = self._data.get(customer_id)
        return copy.deepcopy(found) if found else None

    async def get_by_telegram_id(self, telegram_user_id: int) -> Customer | None:
        for c in self._data.values():
            if c.telegram_user_id == telegram_user_id:
                return copy.deepcopy(c)
        return None

    async def get_by_chat_id(self, chat_id: int) -> Customer | None:
        for c in self._data.values():
            if c.chat_id == chat_id:
                return copy.deepcopy(c)
        return None

    async def ids_by_chat_id(self, chat_ids: Collection[int]) -> dict[int, int]:
        owners: dict[int, int] = {}
        for customer_id, c in sorted(self._data.items()):
            if c.chat_id in chat_ids and c.chat_id is not None:
                owners.setdefault(c.chat_id, customer_id)
        return owners

    async def add(self, customer: Customer) -> Customer:
        stored = replace(customer, id=next(self._ids))
        assert stored.id is not None
        self._data[stored.id] = stored
        return copy.deepcopy(stored)

    async def update(self, customer: Customer) -> None:
        if customer.id is None:
            raise ValueError("cannot update a customer that has no id; add it first")
        if customer.id not in self._data:
            raise LookupError(f"no customer with id {customer.id}")
        self._data[customer.id] = copy.deepcopy(customer)


class _Messages:
    def __init__(
        self,
        data: list[LoggedMessage],
        ids: itertools.count[int],
        inbox: dict[int, InboundUpdate] | None = None,
    ) -> None:
        self._data, self._ids = data, ids
        self._inbox = inbox if inbox is not None else {}

    async def has_update(self, update_id: int) -> bool:
        return any(m.update_id == update_id for m in self._data)

    async def add(self, entry: LoggedMessage) -> LoggedMessage:
        # The update id is unique whatever the direction (a unique column in SQL).
        if entry.update_id is not None and await self.has_update(entry.update_id):
            raise DuplicateUpdate(entry.update_id)
        stored = replace(entry, id=next(self._ids))
        self._data.append(stored)
        return copy.deepcopy(stored)

    async def add_many(self, entries: Sequence[LoggedMessage]) -> None:
        if any(entry.update_id is not None for entry in entries):
            raise ValueError("entries with an update id are added one by one (add)")
        for entry in entries:
            await self.add(entry)

    async def mark_handled(self, update_id: int, at: datetime) -> None:
        for m in self._data:
            if m.update_id == update_id:
                m.handled_at = at
        self._inbox.pop(update_id, None)  # handled is handled for the inbox too

    async def for_chat(self, chat_id: int, limit: int = 100) -> list[LoggedMessage]:
        found = sorted((m for m in self._data if m.chat_id == chat_id), key=_by_time_and_id)
        return copy.deepcopy(found[-limit:]) if limit > 0 else []

    async def posted_about(self, customer_id: int, own_chat_id: int | None) -> list[LoggedMessage]:
        found = [
            m
            for m in self._data
            if m.customer_id == customer_id
            and m.direction is Direction.OUT
            and m.telegram_message_id is not None
            and m.chat_id != own_chat_id
        ]
        return copy.deepcopy(sorted(found, key=_by_time_and_id))

    async def find_sent(self, chat_id: int, telegram_message_id: int) -> LoggedMessage | None:
        for m in reversed(self._data):
            if (
                m.direction is Direction.OUT
                and m.chat_id == chat_id
                and m.telegram_message_id == telegram_message_id
            ):
                return copy.deepcopy(m)
        return None


class _Inbox:
    """The inbox of accepted, unhandled updates (``inbound_update`` in SQL)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def add_new(self, updates: Sequence[InboundUpdate], at: datetime) -> list[int]:
        handled = {m.update_id for m in self._store.messages}
        added: list[int] = []
        for update in updates:
            if update.update_id in self._store.inbox or update.update_id in handled:
                continue
            self._store.inbox[update.update_id] = copy.deepcopy(update)
            added.append(update.update_id)
        return added

    async def is_waiting(self, update_id: int) -> bool:
        return update_id in self._store.inbox

    async def waiting(self, after_update_id: int = 0, limit: int = 100) -> list[InboundUpdate]:
        ids = sorted(i for i in self._store.inbox if i > after_update_id)[:limit]
        return [copy.deepcopy(self._store.inbox[i]) for i in ids]

    async def discard(self, update_id: int) -> None:
        self._store.inbox.pop(update_id, None)

    async def older_waiting(self, chat_id: int, update_id: int) -> list[int]:
        return sorted(
            i for i, u in self._store.inbox.items() if u.chat_id == chat_id and i < update_id
        )


class _Outbox:
    """The outbox (``outbox`` in SQL). A claim is decided against the *committed* rows as
    well as this unit of work's copy, as a database's row lock decides it: of two units of
    work that both saw a row pending, only the first to claim and commit wins it (the other
    sees that the committed row changed since its snapshot, `base`)."""

    def __init__(
        self, work: MemoryStore, shared: MemoryStore, base: Callable[[], MemoryStore]
    ) -> None:
        self._rows = work.outbox
        self._shared = shared.outbox
        self._base = base
        self._ids = shared.ids

    async def enqueue(self, item: OutboxMessage) -> int | None:
        keys = {r.key for r in self._rows.values()} | {r.key for r in self._shared.values()}
        if item.key in keys:
            return None
        row = replace(item, id=next(self._ids))
        assert row.id is not None
        self._rows[row.id] = row
        return row.id

    async def enqueue_many(self, items: Sequence[OutboxMessage]) -> list[str]:
        return [item.key for item in items if await self.enqueue(item) is not None]

    async def get(self, outbox_id: int) -> OutboxMessage | None:
        row = self._rows.get(outbox_id)
        return copy.deepcopy(row) if row else None

    def _claimable(self, row: OutboxMessage, stale_before: datetime | None) -> bool:
        if row.state is OutboxState.PENDING:
            return True
        return (
            stale_before is not None
            and row.state is OutboxState.SENDING
            and row.claimed_at is not None
            and row.claimed_at < stale_before
        )

    async def due(self, now: datetime, stale_before: datetime, limit: int) -> list[OutboxMessage]:
        rows = [
            r
            for r in self._rows.values()
            if (r.state is OutboxState.PENDING and r.not_before <= now)
            or (r.state is not OutboxState.PENDING and self._claimable(r, stale_before))
        ]
        rows.sort(key=lambda r: (r.lane is not Lane.SERVICE, r.created_at, r.id or 0))
        return [copy.deepcopy(r) for r in rows[:limit]]

    async def claim(
        self, outbox_id: int, worker: str, now: datetime, stale_before: datetime | None
    ) -> bool:
        row, committed = self._rows.get(outbox_id), self._shared.get(outbox_id)
        if row is None or not self._claimable(row, stale_before):
            return False
        if committed != self._base().outbox.get(outbox_id):  # another unit of work changed it
            return False
        row.state, row.claimed_by, row.claimed_at = OutboxState.SENDING, worker, now
        return True

    async def claim_many(
        self, outbox_ids: Sequence[int], worker: str, now: datetime, stale_before: datetime | None
    ) -> list[int]:
        return [i for i in outbox_ids if await self.claim(i, worker, now, stale_before)]

    def _sending(self, outbox_id: int) -> OutboxMessage | None:
        row = self._rows.get(outbox_id)
        return row if row is not None and row.state is OutboxState.SENDING else None

    async def refresh_claims(self, outbox_ids: Sequence[int], worker: str, now: datetime) -> int:
        held = [r for i in outbox_ids if (r := self._sending(i)) and r.claimed_by == worker]
        for row in held:
            row.claimed_at = now
        return len(held)

    async def mark_sent(self, outbox_id: int, at: datetime, telegram_message_id: int) -> None:
        if row := self._sending(outbox_id):
            row.state, row.sent_at, row.last_error = OutboxState.SENT, at, None
            row.telegram_message_id = telegram_message_id

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]], at: datetime) -> None:
        for outbox_id, telegram_message_id in sent:
            await self.mark_sent(outbox_id, at, telegram_message_id)

    async def finish(self, outbox_id: int, state: OutboxState, reason: str, attempts: int) -> None:
        if state not in (OutboxState.FAILED, OutboxState.SKIPPED):
            raise ValueError(f"a row is finished as failed or skipped, not {state.value}")
        if row := self._sending(outbox_id):
            row.state, row.last_error, row.attempts = state, reason, attempts

    async def release(
        self, outbox_id: int, reason: str, attempts: int, not_before: datetime
    ) -> None:
        if row := self._sending(outbox_id):
            row.state, row.last_error, row.attempts = OutboxState.PENDING, reason, attempts
            row.not_before, row.claimed_by, row.claimed_at = not_before, None, None

    async def summary(self, errors: int = 5, watch: Sequence[int] = ()) -> OutboxSummary:
        counts: dict[tuple[str, str], int] = {}
        for r in self._rows.values():
            counts[(r.lane.value, r.state.value)] = (
                counts.get((r.lane.value, r.state.value), 0) + 1
            )
        pending = [r.created_at for r in self._rows.values() if r.state is OutboxState.PENDING]
        ended = sorted(
            (
                r
                for r in self._rows.values()
                if r.state in (OutboxState.FAILED, OutboxState.SKIPPED)
            ),
            key=lambda r: -(r.id or 0),
        )
        return OutboxSummary(
            counts,
            min(pending) if pending else None,
            [(r.id or 0, r.state.value, r.last_error or "") for r in ended[:errors]],
            self._failing_chats(watch),
        )

    def _failing_chats(self, watch: Sequence[int]) -> list[tuple[int, int, str]]:
        found: dict[int, list[OutboxMessage]] = {}
        for r in self._rows.values():
            retrying = r.state is OutboxState.PENDING and r.attempts > 0
            ended = r.state in (OutboxState.FAILED, OutboxState.SKIPPED)
            if r.message.chat_id in watch and (ended or retrying):
                found.setdefault(r.message.chat_id, []).append(r)
        return sorted(
            (chat, len(rows), max(rows, key=lambda r: r.id or 0).last_error or "")
            for chat, rows in found.items()
        )

    async def requeue(self, outbox_id: int, now: datetime) -> bool:
        row = self._rows.get(outbox_id)
        if row is None or row.state not in (OutboxState.FAILED, OutboxState.SKIPPED):
            return False
        row.state, row.attempts, row.not_before = OutboxState.PENDING, 0, now
        row.claimed_by, row.claimed_at = None, None
        return True

    async def requeue_failed(self, now: datetime) -> int:
        failed = [r.id or 0 for r in self._rows.values() if r.state is OutboxState.FAILED]
        for outbox_id in failed:
            await self.requeue(outbox_id, now)
        return len(failed)

    async def claimants(self) -> list[str]:
        held = (r.claimed_by for r in self._rows.values() if r.state is OutboxState.SENDING)
        return sorted({w for w in held if w is not None})

    async def release_claims(self, worker: str, reason: str, now: datetime) -> int:
        held = [
            r
            for r in self._rows.values()
            if r.state is OutboxState.SENDING and r.claimed_by == worker
        ]
        for row in held:
            row.state, row.last_error, row.not_before = OutboxState.PENDING, reason, now
            row.claimed_by, row.claimed_at = None, None
        return len(held)


class _Conversations:
    def __init__(self, data: dict[int, Conversation]) -> None:
        self._data = data

    async def get(self, chat_id: int) -> Conversation | None:
        found = self._data.get(chat_id)
        return copy.deepcopy(found) if found else None

    async def save(self, conversation: Conversation) -> None:
        self._data[conversation.chat_id] = copy.deepcopy(conversation)

    async def clear(self, chat_id: int) -> None:
        self._data.pop(chat_id, None)


class _Requests:
    def __init__(self, data: list[SupportRequest], ids: itertools.count[int]) -> None:
        self._data, self._ids = data, ids

    async def add(self, request: SupportRequest) -> SupportRequest:
        stored = replace(request, id=next(self._ids))
        self._data.append(stored)
        return copy.deepcopy(stored)

    async def open_for_customer(self, customer_id: int) -> list[SupportRequest]:
        found = [
            r
            for r in self._data
            if r.customer_id == customer_id and r.status == RequestStatus.OPEN
        ]
        return copy.deepcopy(sorted(found, key=lambda r: (r.created_at, r.id or 0)))


class _Tickets:
    def __init__(
        self, data: dict[int, Ticket], events: list[TicketEvent], ids: itertools.count[int]
    ) -> None:
        self._data, self._events, self._ids = data, events, ids

    async def add(self, ticket: Ticket) -> Ticket:
        new_id = next(self._ids)
        stored = replace(ticket, id=new_id, number=ticket_number(new_id))
        self._data[new_id] = stored
        return copy.deepcopy(stored)

    async def get(self, ticket_id: int) -> Ticket | None:
        found = self._data.get(ticket_id)
        return copy.deepcopy(found) if found else None

    async def get_by_number(self, number: str) -> Ticket | None:
        for t in self._data.values():
            if t.number == number.strip().upper():
                return copy.deepcopy(t)
        return None

    async def update(self, ticket: Ticket) -> None:
        if ticket.id is None:
            raise ValueError("cannot update a ticket that has no id; add it first")
        if ticket.id not in self._data:
            raise LookupError(f"no ticket with id {ticket.id}")
        self._data[ticket.id] = copy.deepcopy(ticket)

    async def open_for_customer(self, customer_id: int) -> list[Ticket]:
        found = [t for t in self._data.values() if t.customer_id == customer_id and t.is_open]
        return [copy.deepcopy(t) for t in sorted(found, key=lambda t: -(t.id or 0))]

    async def open_tickets(self, after_id: int = 0, limit: int = 500) -> list[Ticket]:
        found = sorted(
            (t for t in self._data.values() if t.is_open and (t.id or 0) > after_id),
            key=lambda t: t.id or 0,
        )
        return [copy.deepcopy(t) for t in found[:limit]]

    async def created_between(self, start: datetime, end: datetime) -> list[Ticket]:
        found = [t for t in self._data.values() if start <= t.created_at < end]
        return [copy.deepcopy(t) for t in sorted(found, key=lambda t: t.id or 0)]

    async def mark_once(self, ticket_id: int, field: str, at: datetime) -> bool:
        if field not in SLA_MARKS:
            raise ValueError(f"{field!r} is not an SLA mark")
        ticket = self._data.get(ticket_id)
        if ticket is None or getattr(ticket, field) is not None:
            return False
        setattr(ticket, field, at)
        return True

    async def add_event(self, event: TicketEvent) -> TicketEvent:
        stored = replace(event, id=next(self._ids))
        self._events.append(stored)
        return copy.deepcopy(stored)

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        return copy.deepcopy([e for e in self._events if e.ticket_id == ticket_id])


class _Staff:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def get(self, telegram_user_id: int) -> StaffMember | None:
        found = self._store.staff.get(telegram_user_id)
        return copy.deepcopy(found) if found is not None and found.active else None

    async def save(self, member: StaffMember) -> StaffMember:
        known = self._store.staff.get(member.telegram_user_id)
        if known is None:
            stored = replace(member, id=next(self._store.ids))
        else:  # only name, role and the active flag change; id and time of joining stay
            stored = replace(known, name=member.name, role=member.role, active=member.active)
        self._store.staff[member.telegram_user_id] = stored
        return copy.deepcopy(stored)

    async def members(self, include_inactive: bool = False) -> list[StaffMember]:
        return [
            copy.deepcopy(m) for m in self._store.staff.values() if include_inactive or m.active
        ]

    async def set_advisor(self, customer_id: int, staff_user_id: int | None) -> None:
        if staff_user_id is None:
            self._store.advisors.pop(customer_id, None)
        else:
            self._store.advisors[customer_id] = staff_user_id

    async def advisor_of(self, customer_id: int) -> int | None:
        return self._store.advisors.get(customer_id)

    async def audit(self, entry: AuditEntry) -> None:
        # The detail column holds 255 characters; an empty detail is none.
        self._store.audits.append(replace(entry, detail=(entry.detail or "")[:255] or None))

    async def audit_trail(self, telegram_user_id: int, limit: int = 100) -> list[AuditEntry]:
        return [a for a in self._store.audits if a.telegram_user_id == telegram_user_id][-limit:]


class _Ratings:
    """Ratings keyed by ticket id (one per ticket) and revisits keyed by ticket id."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def add(self, rating: Rating) -> bool:
        if rating.ticket_id in self._store.ratings:
            return False
        self._store.ratings[rating.ticket_id] = replace(rating, id=next(self._store.ids))
        return True

    async def get(self, ticket_id: int) -> Rating | None:
        return self._store.ratings.get(ticket_id)

    async def set_comment(self, ticket_id: int, comment: str) -> bool:
        found = self._store.ratings.get(ticket_id)
        if found is None or found.comment is not None:
            return False
        self._store.ratings[ticket_id] = replace(found, comment=comment)
        return True

    async def for_tickets_created_between(self, start: datetime, end: datetime) -> list[Rating]:
        return [
            r
            for ticket_id, r in sorted(self._store.ratings.items())
            if ticket_id in self._store.tickets
            and start <= self._store.tickets[ticket_id].created_at < end
        ]

    async def plan_revisit(self, ticket_id: int, customer_id: int, due_at: datetime) -> None:
        self._store.revisits[ticket_id] = Revisit(ticket_id, customer_id, due_at)

    async def get_revisit(self, ticket_id: int) -> Revisit | None:
        return self._store.revisits.get(ticket_id)

    async def claim_revisit(self, ticket_id: int, now: datetime) -> bool:
        found = self._store.revisits.get(ticket_id)
        if found is None or found.sent_at is not None or found.due_at > now:
            return False
        self._store.revisits[ticket_id] = replace(found, sent_at=now)
        return True

    async def skip_revisit(self, ticket_id: int, reason: str) -> None:
        found = self._store.revisits.get(ticket_id)
        if found is not None:
            self._store.revisits[ticket_id] = replace(found, skipped=reason)

    async def due_revisits(self, now: datetime, limit: int = 500) -> list[int]:
        due = [r for r in self._store.revisits.values() if r.sent_at is None and r.due_at <= now]
        return [r.ticket_id for r in sorted(due, key=lambda r: (r.due_at, r.ticket_id))][:limit]

    async def answer_revisit(self, ticket_id: int, answer: RevisitAnswer, at: datetime) -> bool:
        found = self._store.revisits.get(ticket_id)
        if found is None or found.sent_at is None or found.answer is not None:
            return False
        self._store.revisits[ticket_id] = replace(found, answer=answer, answered_at=at)
        return True


class _Desk:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def active(self, customer_chat_id: int) -> Takeover | None:
        found = self._store.takeovers.get(customer_chat_id)
        return copy.deepcopy(found) if found else None

    async def for_agent(self, agent_user_id: int) -> list[Takeover]:
        found = [t for t in self._store.takeovers.values() if t.agent_user_id == agent_user_id]
        return copy.deepcopy(sorted(found, key=lambda t: t.started_at))

    async def start(self, takeover: Takeover) -> None:
        known = self._store.takeovers.get(takeover.customer_chat_id)
        if known is not None:  # the chat stays the customer's it was: only the take-over moves
            takeover = replace(takeover, customer_id=known.customer_id)
        self._store.takeovers[takeover.customer_chat_id] = copy.deepcopy(takeover)

    async def end(self, customer_chat_id: int) -> bool:
        return self._store.takeovers.pop(customer_chat_id, None) is not None


class _Topics:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def thread_of(self, ticket_id: int, chat_id: int) -> int | None:
        return self._store.topics.get((ticket_id, chat_id))

    async def save(self, ticket_id: int, chat_id: int, thread_id: int) -> None:
        self._store.topics[(ticket_id, chat_id)] = thread_id

    async def ticket_of(self, chat_id: int, thread_id: int) -> int | None:
        for (ticket_id, chat), thread in self._store.topics.items():
            if chat == chat_id and thread == thread_id:
                return ticket_id
        return None

    async def of_customer(self, customer_id: int) -> list[tuple[int, int, int]]:
        return sorted(
            (ticket_id, chat_id, thread_id)
            for (ticket_id, chat_id), thread_id in self._store.topics.items()
            if self._store.tickets[ticket_id].customer_id == customer_id
        )


_TABLES = tuple(f.name for f in fields(MemoryStore) if f.name != "ids")


def _snapshot(store: MemoryStore) -> MemoryStore:
    """A private deep copy of every table; the id sequence stays shared, as in a database."""
    tables: dict[str, Any] = {name: copy.deepcopy(getattr(store, name)) for name in _TABLES}
    return MemoryStore(**tables, ids=store.ids)


def _publish(shared: Any, before: Any, after: Any) -> None:
    """Writes into the `shared` table what changed between `before` and `after`, row by row,
    so a commit never undoes what another unit of work committed meanwhile. Dict tables are
    keyed rows; list tables are only ever appended to (rows may change in place)."""
    if isinstance(shared, dict):
        for key in before.keys() - after.keys():
            shared.pop(key, None)
        for key, row in after.items():
            if key not in before or before[key] != row:
                shared[key] = copy.deepcopy(row)
        return
    assert len(after) >= len(before), "list tables are append-only"
    for position, (old, new) in enumerate(zip(before, after, strict=False)):
        if old != new:
            shared[position] = copy.deepcopy(new)
    shared.extend(copy.deepcopy(after[len(before) :]))


class MemoryUnitOfWork:
    """Works on a private copy of the store; `commit` publishes the rows it changed, exit
    without commit discards them — the all-or-nothing a database transaction gives. Kept to
    the SQL unit of work by ``tests/integration/test_repository_contract.py``."""

    customers: CustomerRepository
    messages: MessageLogRepository
    conversations: ConversationRepository
    requests: SupportRequestRepository
    tickets: TicketRepository
    staff: StaffRepository
    desk: DeskRepository
    topics: TopicRepository
    ratings: RatingRepository
    records: CustomerRecordRepository
    tiers: CustomerTiers
    inbox: InboxRepository
    outbox: OutboxRepository
    engagement: EngagementFactsReader
    coupons: CouponRepository
    loyalty: LoyaltyRepository
    news: NewsRepository
    campaigns: CampaignRepository
    tasks: StaffTaskRepository
    surveys: SurveyRepository
    profile: ProfileRepository

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        self._base = _snapshot(self._store)
        self._work = _snapshot(self._store)
        self.customers = _Customers(self._work.customers, self._store.ids)
        self.messages = _Messages(self._work.messages, self._store.ids, self._work.inbox)
        self.inbox = _Inbox(self._work)
        self.outbox = _Outbox(self._work, self._store, lambda: self._base)
        self.conversations = _Conversations(self._work.conversations)
        self.requests = _Requests(self._work.requests, self._store.ids)
        self.tickets = _Tickets(self._work.tickets, self._work.events, self._store.ids)
        self.staff = _Staff(self._work)
        self.desk = _Desk(self._work)
        self.topics = _Topics(self._work)
        self.ratings = _Ratings(self._work)
        self.records = MemoryCustomerRecords(self._work)
        self.tiers = MemoryCustomerTiers(self._work)
        self.engagement = MemoryEngagementFacts(self._work)
        self.coupons = MemoryCoupons(self._work)
        self.loyalty = MemoryLoyalty(self._work)
        self.news = MemoryNews(self._work)
        self.campaigns = MemoryCampaigns(self._work)
        self.tasks = MemoryStaffTasks(self._work)
        self.surveys = MemorySurveys(self._work)
        self.profile = MemoryProfile(self._work)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        for name in _TABLES:
            _publish(
                getattr(self._store, name), getattr(self._base, name), getattr(self._work, name)
            )
        # Work after the commit is a new transaction: uncommitted until the next commit.
        self._base = _snapshot(self._work)
        self.committed = True

    async def rollback(self) -> None:
        await self.__aenter__()


class MemoryUnitOfWorkFactory:
    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)


class RecordingMessenger:
    """Records every message and callback answer; `fail_with` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.callbacks: list[tuple[str, str | None]] = []
        self.menus: dict[str | None, list[tuple[str, str]]] = {}
        self.topics: list[tuple[int, int, str, int]] = []
        self.deleted_threads: set[int] = set()
        self.fail_with: list[DeliveryError] = []
        self._ids = itertools.count(1)

    async def send(self, message: Outgoing) -> Sent:
        if self.fail_with:
            raise self.fail_with.pop(0)
        if message.thread_id is not None and message.thread_id in self.deleted_threads:
            raise ThreadNotFound("Bad Request: message thread not found")
        self.sent.append(message)
        reused = message.edit_message_id or message.rename_thread_id or message.delete_message_id
        return Sent(chat_id=message.chat_id, message_id=reused or next(self._ids))

    async def answer_callback(self, callback_id: str, text: str | None = None) -> None:
        self.callbacks.append((callback_id, text))

    async def create_topic(self, chat_id: int, name: str, icon_color: int) -> int:
        if self.fail_with:
            raise self.fail_with.pop(0)
        thread_id = 9000 + len(self.topics)
        self.topics.append((chat_id, thread_id, name, icon_color))
        return thread_id

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        self.menus[language_code] = list(commands)

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m.text for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def template_keys(self) -> list[str]:
        return [m.template_key for m in self.sent]

    def sent_with(self, key: str) -> list[Outgoing]:
        return [m for m in self.sent if m.template_key == key]

    def assert_sent(self, key: str) -> Outgoing:
        for message in self.sent:
            if message.template_key == key:
                return message
        raise AssertionError(f"nothing sent with {key!r}; sent: {self.template_keys()}")


class RecordingScheduler:
    """:class:`bot.core.ports.JobScheduler` that only records: ``jobs`` maps each job id to
    its latest (target, time, ids), as a real scheduler replaces a job scheduled again."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, datetime, tuple[int | str, ...]]] = {}
        self.calls: list[str] = []

    async def schedule_at(self, job_id: str, target: str, at: datetime, *ids: int | str) -> None:
        self.calls.append(job_id)
        self.jobs[job_id] = (target, at, ids)


class FixedFaq:
    """A FAQ matcher with canned verdicts per exact text; anything else is no match."""

    def __init__(self, verdicts: dict[str, FaqMatch] | None = None) -> None:
        self.verdicts = verdicts or {}

    def match(self, text: str, locale: str) -> FaqMatch:
        return self.verdicts.get(text, FaqMatch("none", None, 0.0))
