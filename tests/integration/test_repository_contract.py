"""The contract that keeps the fakes honest: every scenario runs against the in-memory unit of
work of :mod:`tests.fakes` *and* a migrated SQLite file, with the same calls and the same
expected results. SQL is the truth: where the two disagree, the fake is wrong.

Each repository of :class:`bot.core.ports.UnitOfWork` has its section, and every method of its
Protocol is called at least once (``test_every_port_method_is_exercised`` checks that against
this file's source). The only thing done differently per backend is seeding value tiers, which
the core only reads (the SQL rows come from ``rapport tiers recompute``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import ports
from bot.core.consent import ConsentChange, ConsentSource, ConsentState
from bot.core.coupons import CouponSource, OrderCoupon, Redemption, issue
from bot.core.desk import Takeover
from bot.core.engagement.facts import CustomerFacts, OrderFact, SentEngagement
from bot.core.engagement.news import NewsItem
from bot.core.engagement.playbook import CouponKind, CouponSpec
from bot.core.loyalty import LoyaltyOrder, LoyaltyRedemption
from bot.core.messages import OutButton, Outgoing, TopicRef
from bot.core.models import (
    Conversation,
    Customer,
    Direction,
    LoggedMessage,
    Reachability,
    RequestReason,
    RequestStatus,
    SupportRequest,
)
from bot.core.outbox_model import Lane, OutboxMessage, OutboxState
from bot.core.ports import DuplicateUpdate, UnitOfWork, UnitOfWorkFactory
from bot.core.profile import Answer as ProfileAnswer
from bot.core.profile import ProfileAsk, ProfileFacts, ProfileField
from bot.core.ratings import Rating, RevisitAnswer
from bot.core.records import CustomerExport, CustomerProfile, OrderStatus, TierChange, TierInfo
from bot.core.roles import AuditEntry, Role, StaffMember
from bot.core.staff_tasks import StaffTask, TaskChoice, TaskKind, TaskState
from bot.core.surveys import Survey
from bot.core.tickets import (
    EventKind,
    Level,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketState,
    ticket_number,
)
from bot.core.tiers import Lifecycle, Segment, Tier
from bot.core.triage import Priority, Severity
from storage.crypto import PersonalDataCipher, new_key
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import CustomerOrderRow, CustomerTierHistoryRow, CustomerTierRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import MemoryUnitOfWorkFactory
from tests.fakes_customers import plain

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
BIG = 7_000_000_000  # Telegram ids exceed 2**31


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


Seed = Callable[[TierInfo, list[TierChange]], Awaitable[None]]


@dataclass
class Backend:
    name: str
    uow: UnitOfWorkFactory
    seed_tiers: Seed


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = MemoryUnitOfWorkFactory()

        async def seed_memory(info: TierInfo, history: list[TierChange]) -> None:
            memory.store.standings[info.customer_id] = info
            memory.store.tier_history.extend(history)

        yield Backend("memory", memory, seed_memory)
        return

    if request.param == "postgres":
        url = await request.getfixturevalue("postgres").fresh_database()
        engine = make_engine(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
        engine = make_engine(url)
        await upgrade(url, engine=engine)
    sql = SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(new_key()))

    async def seed_sql(info: TierInfo, history: list[TierChange]) -> None:
        async with sql() as work:
            values = {f.name: getattr(info, f.name) for f in fields(info)}
            for name in ("tier", "lifecycle", "segment"):
                values[name] = values[name].value if values[name] else None
            work.session.add(CustomerTierRow(**values))
            for change in history:
                work.session.add(
                    CustomerTierHistoryRow(
                        customer_id=change.customer_id,
                        as_of=change.as_of,
                        old_tier=change.old_tier.value if change.old_tier else None,
                        new_tier=change.new_tier.value,
                    )
                )
            await work.commit()

    try:
        yield Backend(request.param, sql, seed_sql)
    finally:
        await engine.dispose()
        if request.param == "postgres":
            await request.getfixturevalue("postgres").drop(url)


# --- builders (through the ports only, so both backends get the same rows) -------------------


def a_customer(n: int = 1, **overrides: Any) -> Customer:
    values: dict[str, Any] = {
        "telegram_user_id": BIG + n,
        "chat_id": BIG + n,
        "display_name": f"Ann Lee {n}",
        "first_name": "Ann",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return Customer(**values)


async def add_customer(factory: UnitOfWorkFactory, n: int = 1, **overrides: Any) -> Customer:
    async with factory() as work:
        customer = await work.customers.add(a_customer(n, **overrides))
        await work.commit()
    return customer


def a_ticket(customer: Customer, **overrides: Any) -> Ticket:
    assert customer.id is not None and customer.chat_id is not None
    values: dict[str, Any] = {
        "customer_id": customer.id,
        "chat_id": customer.chat_id,
        "kind": TicketKind.COMPLAINT,
        "severity": Severity.QUALITY,
        "priority": Priority.NORMAL,
        "state": TicketState.ACKNOWLEDGED,
        "level": Level.AGENT,
        "text": "kettle broken 水壺壞了",
        "created_at": T0,
        "updated_at": T0,
        "first_response_due_at": minutes(120),
        "resolution_due_at": minutes(24 * 60),
        "category": "damaged",
        "signals": ["broken"],
        "attachments": ["PHOTO-1"],
        "order_ref": "10234",
    }
    values.update(overrides)
    return Ticket(**values)


async def add_ticket(factory: UnitOfWorkFactory, customer: Customer, **overrides: Any) -> Ticket:
    async with factory() as work:
        ticket = await work.tickets.add(a_ticket(customer, **overrides))
        await work.commit()
    return ticket


def logged(
    direction: Direction, update_id: int | None, chat_id: int = BIG + 1, **overrides: Any
) -> LoggedMessage:
    values: dict[str, Any] = {"text": "hello", "at": T0, "update_id": update_id}
    values.update(overrides)
    return LoggedMessage(direction, chat_id, **values)


# --- the unit of work ------------------------------------------------------------------------


async def test_only_committed_work_is_kept(backend: Backend) -> None:
    async with backend.uow() as work:
        await work.customers.add(a_customer(1))
        # Seen inside the unit of work before it commits...
        assert await work.customers.get_by_telegram_id(BIG + 1) is not None
    async with backend.uow() as work:  # ...and gone once it closed without committing.
        assert await work.customers.get_by_telegram_id(BIG + 1) is None
        await work.customers.add(a_customer(2))
        await work.rollback()
        assert await work.customers.get_by_telegram_id(BIG + 2) is None
        await work.customers.add(a_customer(3))  # still usable after a rollback
        await work.commit()
        await work.customers.add(a_customer(4))  # after the commit, and never committed
    async with backend.uow() as work:
        assert await work.customers.get_by_telegram_id(BIG + 3) is not None
        assert await work.customers.get_by_telegram_id(BIG + 4) is None


async def test_a_unit_of_work_keeps_what_another_committed_meanwhile(backend: Backend) -> None:
    first = backend.uow()
    async with first:
        async with backend.uow() as second:
            customer = await second.customers.add(a_customer(1))
            await second.conversations.save(Conversation(BIG + 1, "complaint", "ask", T0))
            await second.commit()
        await first.customers.add(a_customer(2))
        await first.messages.add(logged(Direction.IN, 10))
        await first.commit()
    async with backend.uow() as work:
        assert await work.customers.get(customer.id or 0) == customer
        assert await work.conversations.get(BIG + 1) is not None
        assert await work.customers.get_by_telegram_id(BIG + 2) is not None
        assert await work.messages.has_update(10)


# --- customers -------------------------------------------------------------------------------


async def test_customers(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1, username="ann", language_code="zh-hk")
    assert ann.id is not None
    # A second customer in the same chat (an old record): the oldest one is the chat's.
    await add_customer(backend.uow, 2, chat_id=BIG + 1)
    async with backend.uow() as work:
        assert await work.customers.get(ann.id) == ann
        assert await work.customers.get_by_telegram_id(BIG + 1) == ann
        assert await work.customers.get_by_chat_id(BIG + 1) == ann
        assert await work.customers.get(ann.id + 1000) is None
        assert await work.customers.get_by_telegram_id(42) is None
        assert await work.customers.get_by_chat_id(42) is None
        # Many chats at once: the oldest customer of each, chats of nobody left out.
        assert await work.customers.ids_by_chat_id([BIG + 1, 42, BIG + 2]) == {BIG + 1: ann.id}
        assert await work.customers.ids_by_chat_id([]) == {}

        got = await work.customers.get(ann.id)
        assert got is not None
        got.language = "zh-Hant"  # a returned customer is a copy until it is updated
        assert (await work.customers.get(ann.id)) == ann
        got.updated_at = minutes(5)
        await work.customers.update(got)
        await work.commit()
    async with backend.uow() as work:
        assert await work.customers.get(ann.id) == replace(
            ann, language="zh-Hant", updated_at=minutes(5)
        )
        with pytest.raises(ValueError):
            await work.customers.update(a_customer(3))
        with pytest.raises(LookupError):
            await work.customers.update(a_customer(3, id=ann.id + 1000))


# --- message log -----------------------------------------------------------------------------


async def test_a_redelivered_update_is_a_duplicate(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    async with backend.uow() as work:
        first = await work.messages.add(logged(Direction.IN, 500, customer_id=ann.id))
        assert first.id is not None
        assert first == replace(logged(Direction.IN, 500, customer_id=ann.id), id=first.id)
        assert await work.messages.has_update(500)
        assert not await work.messages.has_update(501)
        with pytest.raises(DuplicateUpdate):  # within the same unit of work
            await work.messages.add(logged(Direction.IN, 500, text="again"))
        await work.commit()
    async with backend.uow() as work:
        with pytest.raises(DuplicateUpdate):
            await work.messages.add(logged(Direction.IN, 500, text="again"))
        with pytest.raises(DuplicateUpdate):  # the update id is unique whatever the direction
            await work.messages.add(logged(Direction.OUT, 500))
        # The unit of work survives the duplicates: more work and a commit still succeed.
        await work.messages.add(logged(Direction.IN, 501))
        for _ in range(2):  # outbound entries carry no update id, as many as there are
            await work.messages.add(logged(Direction.OUT, None, template_key="faq.answer"))
        await work.commit()
    async with backend.uow() as work:
        log = await work.messages.for_chat(BIG + 1)
    assert [(m.direction, m.update_id, m.text) for m in log] == [
        (Direction.IN, 500, "hello"),
        (Direction.IN, 501, "hello"),
        (Direction.OUT, None, "hello"),
        (Direction.OUT, None, "hello"),
    ]


async def test_mark_handled_and_find_sent(backend: Backend) -> None:
    async with backend.uow() as work:
        await work.messages.add(logged(Direction.IN, 900, telegram_message_id=7))
        await work.messages.add(logged(Direction.IN, 901))
        await work.messages.add(logged(Direction.OUT, None, telegram_message_id=7, text="a"))
        await work.messages.add(logged(Direction.OUT, None, telegram_message_id=7, text="b"))
        await work.messages.add(logged(Direction.OUT, None, BIG + 2, telegram_message_id=8))
        await work.commit()
    async with backend.uow() as work:
        await work.messages.mark_handled(900, minutes(1))
        await work.messages.mark_handled(12345, minutes(1))  # unknown: no effect, no error
        sent = await work.messages.find_sent(BIG + 1, 7)
        assert sent is not None and (sent.direction, sent.text) == (Direction.OUT, "b")
        assert await work.messages.find_sent(BIG + 1, 8) is None
        assert await work.messages.find_sent(BIG + 2, 7) is None
        await work.commit()
    async with backend.uow() as work:
        by_update = {m.update_id: m for m in await work.messages.for_chat(BIG + 1)}
    assert by_update[900].handled_at == minutes(1)
    assert by_update[901].handled_at is None


async def test_what_was_posted_about_a_customer_elsewhere(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    assert ann.id is not None
    group = -(BIG + 5)
    async with backend.uow() as work:
        for entry in (
            logged(Direction.OUT, None, group, customer_id=ann.id, telegram_message_id=31),
            logged(Direction.OUT, None, BIG + 1, customer_id=ann.id, telegram_message_id=32),
            logged(Direction.OUT, None, group, customer_id=ann.id),  # never reached Telegram
            logged(Direction.IN, 700, group, customer_id=ann.id, telegram_message_id=33),
            logged(Direction.OUT, None, group, telegram_message_id=34),  # about nobody
            logged(
                Direction.OUT,
                None,
                BIG + 7,
                customer_id=ann.id,
                telegram_message_id=35,
                at=minutes(-1),
            ),
        ):
            await work.messages.add(entry)
        await work.commit()
    async with backend.uow() as work:
        posted = await work.messages.posted_about(ann.id, BIG + 1)
        assert [(m.chat_id, m.telegram_message_id) for m in posted] == [(BIG + 7, 35), (group, 31)]
        everywhere = await work.messages.posted_about(ann.id, None)
        assert {m.telegram_message_id for m in everywhere} == {31, 32, 35}


async def test_for_chat_is_the_most_recent_oldest_first(backend: Backend) -> None:
    async with backend.uow() as work:
        # Added out of time order; two share a time (then the order of adding decides).
        for minute, update_id in [(3, 3), (1, 1), (4, 4), (2, 2), (4, 5)]:
            await work.messages.add(logged(Direction.IN, update_id, at=minutes(minute)))
        await work.messages.add(logged(Direction.IN, 100, BIG + 99))
        await work.commit()
    async with backend.uow() as work:
        everything = await work.messages.for_chat(BIG + 1)
        last_three = await work.messages.for_chat(BIG + 1, limit=3)
        other = await work.messages.for_chat(BIG + 99)
        assert await work.messages.for_chat(12345) == []
        everything[0].text = "changed"  # a copy: the log does not change
        assert (await work.messages.for_chat(BIG + 1))[0].text == "hello"
    assert [m.update_id for m in everything] == [1, 2, 3, 4, 5]
    assert [m.update_id for m in last_three] == [3, 4, 5]
    assert [m.update_id for m in other] == [100]


async def test_outbound_entries_are_added_many_at_once(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    async with backend.uow() as work:
        await work.messages.add_many(
            [
                logged(Direction.OUT, None, customer_id=ann.id, telegram_message_id=70, text="a"),
                logged(Direction.OUT, None, telegram_message_id=71, text="b", at=minutes(1)),
                logged(Direction.OUT, None, BIG + 2, template_key="faq.answer"),
            ]
        )
        await work.messages.add_many([])  # nothing to add: no error
        with pytest.raises(ValueError):  # inbound entries with update ids go one by one
            await work.messages.add_many([logged(Direction.IN, 600)])
        await work.commit()
    async with backend.uow() as work:
        mine = await work.messages.for_chat(BIG + 1)
        other = await work.messages.for_chat(BIG + 2)
        sent = await work.messages.find_sent(BIG + 1, 70)
        assert not await work.messages.has_update(600)
    assert [(m.text, m.customer_id, m.telegram_message_id) for m in mine] == [
        ("a", ann.id, 70),
        ("b", None, 71),
    ]
    assert sent is not None and sent.id is not None and sent.direction is Direction.OUT
    assert [(m.chat_id, m.template_key, m.update_id) for m in other] == [
        (BIG + 2, "faq.answer", None)
    ]


# --- conversations ---------------------------------------------------------------------------


async def test_conversations(backend: Backend) -> None:
    data: dict[str, Any] = {"order": "A-17", "items": [1, 2], "note": "退貨", "x": {"y": None}}
    async with backend.uow() as work:
        assert await work.conversations.get(BIG) is None
        await work.conversations.save(Conversation(BIG, "complaint", "describe", T0, data))
        await work.commit()
    async with backend.uow() as work:
        got = await work.conversations.get(BIG)
        assert got == Conversation(BIG, "complaint", "describe", T0, data)
        assert got is not None
        got.data["confirmed"] = True  # the stored copy does not change by this alone
        assert await work.conversations.get(BIG) == Conversation(
            BIG, "complaint", "describe", T0, data
        )
        await work.conversations.save(Conversation(BIG, "complaint", "confirm", T0, got.data))
        await work.commit()
    async with backend.uow() as work:
        again = await work.conversations.get(BIG)
        assert again is not None and again.step == "confirm"
        assert again.data == {**data, "confirmed": True}
        await work.conversations.clear(BIG)
        await work.conversations.clear(BIG + 1)  # nothing there: no error
        await work.commit()
    async with backend.uow() as work:
        assert await work.conversations.get(BIG) is None


# --- support requests ------------------------------------------------------------------------


async def test_support_requests(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    assert ann.id is not None and bob.id is not None

    def request(customer_id: int, minute: int, **overrides: Any) -> SupportRequest:
        values: dict[str, Any] = {"status": RequestStatus.OPEN}
        values.update(overrides)
        return SupportRequest(
            customer_id,
            BIG,
            f"help {minute}",
            RequestReason.FAQ_MISS,
            minutes(minute),
            minutes(minute + 120),
            **values,
        )

    async with backend.uow() as work:
        later = await work.requests.add(request(ann.id, 20))
        earlier = await work.requests.add(request(ann.id, 10))
        await work.requests.add(request(ann.id, 5, status=RequestStatus.ANSWERED))
        await work.requests.add(request(bob.id, 1))
        await work.commit()
    assert later.id is not None and earlier.id is not None and later.id != earlier.id
    assert later == replace(request(ann.id, 20), id=later.id)
    async with backend.uow() as work:
        assert await work.requests.open_for_customer(ann.id) == [earlier, later]
        assert [r.text for r in await work.requests.open_for_customer(bob.id)] == ["help 1"]
        assert await work.requests.open_for_customer(bob.id + 1000) == []


# --- tickets and their events ----------------------------------------------------------------


async def test_tickets(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    first = await add_ticket(backend.uow, ann)
    assert first.id is not None and first.number == ticket_number(first.id)
    assert first == replace(a_ticket(ann), id=first.id, number=first.number)
    second = await add_ticket(backend.uow, ann, created_at=minutes(60))
    closed = await add_ticket(backend.uow, ann, state=TicketState.CLOSED)
    bobs = await add_ticket(backend.uow, bob, created_at=minutes(-1))
    assert second.id and closed.id and bobs.id
    async with backend.uow() as work:
        assert await work.tickets.get(first.id) == first
        assert await work.tickets.get(first.id + 1000) is None
        assert await work.tickets.get_by_number(f"  {first.number.lower()} ") == first
        assert await work.tickets.get_by_number("T-999999") is None
        assert [t.id for t in await work.tickets.open_for_customer(ann.id or 0)] == [
            second.id,
            first.id,
        ]
        assert [t.id for t in await work.tickets.open_tickets()] == [first.id, second.id, bobs.id]
        assert [t.id for t in await work.tickets.open_tickets(after_id=first.id, limit=1)] == [
            second.id
        ]
        assert [t.id for t in await work.tickets.created_between(T0, minutes(60))] == [
            first.id,
            closed.id,
        ]

        changed = await work.tickets.get(first.id)
        assert changed is not None
        changed.state, changed.resolved_at = TicketState.RESOLVED, minutes(30)
        changed.signals.append("refund")
        assert await work.tickets.get(first.id) == first  # a copy until updated
        await work.tickets.update(changed)
        await work.commit()
    async with backend.uow() as work:
        assert await work.tickets.get(first.id) == changed
        assert [t.id for t in await work.tickets.open_for_customer(ann.id or 0)] == [second.id]
        with pytest.raises(ValueError):
            await work.tickets.update(a_ticket(ann))
        with pytest.raises(LookupError):
            await work.tickets.update(a_ticket(ann, id=first.id + 1000))


async def test_sla_marks_are_set_once(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    ticket = await add_ticket(backend.uow, ann)
    other = await add_ticket(backend.uow, ann)
    assert ticket.id is not None and other.id is not None
    async with backend.uow() as work:
        assert await work.tickets.mark_once(ticket.id, "first_response_warned_at", minutes(1))
        assert not await work.tickets.mark_once(ticket.id, "first_response_warned_at", minutes(2))
        assert await work.tickets.mark_once(ticket.id, "resolution_breached_at", minutes(3))
        assert not await work.tickets.mark_once(ticket.id + 1000, "resolution_warned_at", T0)
        with pytest.raises(ValueError):
            await work.tickets.mark_once(ticket.id, "resolved_at", T0)
        marked = await work.tickets.get(ticket.id)  # seen at once in the same unit of work
        assert marked is not None and marked.first_response_warned_at == minutes(1)
        await work.commit()
    async with backend.uow() as work:
        assert await work.tickets.get(ticket.id) == replace(
            ticket, first_response_warned_at=minutes(1), resolution_breached_at=minutes(3)
        )
        assert await work.tickets.get(other.id) == other


async def test_ticket_events(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    ticket = await add_ticket(backend.uow, ann)
    other = await add_ticket(backend.uow, ann)
    assert ticket.id is not None and other.id is not None
    opened = TicketEvent(ticket.id, T0, "bot", EventKind.OPENED, None, TicketState.RECEIVED)
    moved = TicketEvent(
        ticket.id,
        minutes(1),
        "staff:1",
        EventKind.TRANSITION,
        TicketState.RECEIVED,
        TicketState.INVESTIGATING,
        "looking 查看",
        {"level": 2, "tags": ["a"]},
    )
    async with backend.uow() as work:
        stored = await work.tickets.add_event(opened)
        assert stored.id is not None and stored == replace(opened, id=stored.id)
        await work.tickets.add_event(TicketEvent(other.id, T0, "system", EventKind.NOTE))
        await work.tickets.add_event(moved)
        await work.commit()
    async with backend.uow() as work:
        history = await work.tickets.events(ticket.id)
        assert await work.tickets.events(ticket.id + 1000) == []
    assert [replace(e, id=None) for e in history] == [opened, moved]
    assert history[0].id is not None and history[1].id is not None
    assert history[0].id < history[1].id


# --- staff -----------------------------------------------------------------------------------


async def test_staff_roster(backend: Backend) -> None:
    async with backend.uow() as work:
        sam = await work.staff.save(StaffMember(BIG + 10, "Sam", Role.AGENT, T0))
        kim = await work.staff.save(StaffMember(BIG + 11, "Kim", Role.SUPERVISOR, T0))
        assert sam.id is not None and kim.id is not None and sam.id != kim.id
        assert sam == StaffMember(BIG + 10, "Sam", Role.AGENT, T0, id=sam.id)
        # Saving again changes name, role and active flag; id and time of joining stay.
        again = await work.staff.save(
            StaffMember(BIG + 10, "Samuel", Role.MANAGER, minutes(9), active=False)
        )
        assert again == StaffMember(BIG + 10, "Samuel", Role.MANAGER, T0, False, sam.id)
        await work.commit()
    async with backend.uow() as work:
        assert await work.staff.get(BIG + 10) is None  # inactive
        assert await work.staff.get(BIG + 11) == kim
        assert await work.staff.get(42) is None
        assert await work.staff.members() == [kim]
        assert await work.staff.members(include_inactive=True) == [again, kim]


async def test_advisors_and_audit_trail(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    assert ann.id is not None
    async with backend.uow() as work:
        assert await work.staff.advisor_of(ann.id) is None
        await work.staff.set_advisor(ann.id, BIG + 10)
        await work.staff.set_advisor(ann.id, BIG + 11)
        await work.commit()
    async with backend.uow() as work:
        assert await work.staff.advisor_of(ann.id) == BIG + 11
        await work.staff.set_advisor(ann.id, None)
        assert await work.staff.advisor_of(ann.id) is None

        entries = [
            AuditEntry(minutes(1), BIG + 10, "take_over", True, BIG + 1, "ticket T-000001"),
            AuditEntry(minutes(2), BIG + 11, "close", False),
            AuditEntry(minutes(3), BIG + 10, "note", True, None, "x" * 300),
            AuditEntry(minutes(4), BIG + 10, "note", True, None, ""),
        ]
        for entry in entries:
            await work.staff.audit(entry)
        await work.commit()
    async with backend.uow() as work:
        trail = await work.staff.audit_trail(BIG + 10)
        assert await work.staff.audit_trail(BIG + 10, limit=1) == trail[-1:]
        assert await work.staff.audit_trail(BIG + 11) == [entries[1]]
        assert await work.staff.audit_trail(42) == []
    # The detail is kept to 255 characters; an empty one is no detail.
    assert trail == [
        entries[0],
        replace(entries[2], detail="x" * 255),
        replace(entries[3], detail=None),
    ]


# --- ratings and revisits --------------------------------------------------------------------


async def test_ratings(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    early = await add_ticket(backend.uow, ann)
    late = await add_ticket(backend.uow, ann, created_at=minutes(24 * 60))
    unrated = await add_ticket(backend.uow, ann)
    assert ann.id and early.id and late.id and unrated.id
    async with backend.uow() as work:
        assert await work.ratings.add(Rating(late.id, ann.id, 2, minutes(1)))
        assert await work.ratings.add(Rating(early.id, ann.id, 4, minutes(1)))
        assert not await work.ratings.add(Rating(early.id, ann.id, 1, minutes(2)))
        assert await work.ratings.set_comment(early.id, "quick and kind 谢谢")
        assert not await work.ratings.set_comment(early.id, "changed my mind")
        assert not await work.ratings.set_comment(unrated.id, "no rating to comment on")
        await work.commit()
    async with backend.uow() as work:
        stored = await work.ratings.get(early.id)
        assert await work.ratings.get(unrated.id) is None
        day_one = await work.ratings.for_tickets_created_between(T0, minutes(24 * 60))
        both = await work.ratings.for_tickets_created_between(T0, minutes(48 * 60))
        assert await work.ratings.for_tickets_created_between(minutes(-60), T0) == []
    assert stored is not None and stored.id is not None
    assert stored == Rating(early.id, ann.id, 4, minutes(1), "quick and kind 谢谢", stored.id)
    assert day_one == [stored]
    assert [r.ticket_id for r in both] == [early.id, late.id]


async def test_revisits(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    first = await add_ticket(backend.uow, ann)
    second = await add_ticket(backend.uow, ann)
    third = await add_ticket(backend.uow, ann)
    assert ann.id and first.id and second.id and third.id
    async with backend.uow() as work:
        assert await work.ratings.get_revisit(first.id) is None
        await work.ratings.plan_revisit(third.id, ann.id, minutes(60))
        await work.ratings.plan_revisit(second.id, ann.id, minutes(30))
        await work.ratings.plan_revisit(first.id, ann.id, minutes(60))
        await work.commit()
    async with backend.uow() as work:
        planned = await work.ratings.get_revisit(first.id)
        assert planned is not None and (planned.due_at, planned.sent_at) == (minutes(60), None)
        assert await work.ratings.due_revisits(minutes(59)) == [second.id]
        # Oldest due first, then by ticket.
        assert await work.ratings.due_revisits(minutes(60)) == [second.id, first.id, third.id]
        assert await work.ratings.due_revisits(minutes(60), limit=2) == [second.id, first.id]
        assert not await work.ratings.claim_revisit(first.id, minutes(59))  # not yet due
        assert not await work.ratings.answer_revisit(first.id, RevisitAnswer.ALL_GOOD, T0)
        assert await work.ratings.claim_revisit(first.id, minutes(61))
        assert not await work.ratings.claim_revisit(first.id, minutes(62))
        assert await work.ratings.claim_revisit(second.id, minutes(61))
        await work.ratings.skip_revisit(second.id, "reopened")
        await work.ratings.skip_revisit(first.id + 1000, "unknown: nothing happens")
        assert await work.ratings.answer_revisit(first.id, RevisitAnswer.PROBLEM, minutes(70))
        assert not await work.ratings.answer_revisit(first.id, RevisitAnswer.ALL_GOOD, T0)
        assert await work.ratings.due_revisits(minutes(90)) == [third.id]
        await work.commit()
    async with backend.uow() as work:
        answered = await work.ratings.get_revisit(first.id)
        skipped = await work.ratings.get_revisit(second.id)
        assert answered is not None and skipped is not None
        assert (answered.sent_at, answered.answer, answered.answered_at) == (
            minutes(61),
            RevisitAnswer.PROBLEM,
            minutes(70),
        )
        assert (skipped.sent_at, skipped.skipped) == (minutes(61), "reopened")
        # A new resolution plans the revisit afresh.
        await work.ratings.plan_revisit(first.id, ann.id, minutes(600))
        await work.commit()
    async with backend.uow() as work:
        again = await work.ratings.get_revisit(first.id)
    assert again is not None
    assert (again.due_at, again.sent_at, again.skipped, again.answer, again.answered_at) == (
        minutes(600),
        None,
        None,
        None,
        None,
    )


# --- desk take-overs and forum topics --------------------------------------------------------


async def test_desk_takeovers(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    ann_ticket = await add_ticket(backend.uow, ann)
    bob_ticket = await add_ticket(backend.uow, bob)
    assert ann.id and bob.id and ann_ticket.id and bob_ticket.id
    # Bob's chat is taken over first but started later: the agent's list goes by start time.
    bobs = Takeover(BIG + 2, bob.id, bob_ticket.id, BIG + 10, minutes(5))
    anns = Takeover(BIG + 1, ann.id, ann_ticket.id, BIG + 10, minutes(1))
    async with backend.uow() as work:
        assert await work.desk.active(BIG + 1) is None
        await work.desk.start(bobs)
        await work.desk.start(anns)
        await work.commit()
    async with backend.uow() as work:
        assert await work.desk.active(BIG + 1) == anns
        assert await work.desk.for_agent(BIG + 10) == [anns, bobs]
        assert await work.desk.for_agent(BIG + 11) == []
        # Another agent takes Ann's chat over: it is theirs now, from now.
        moved = replace(anns, agent_user_id=BIG + 11, started_at=minutes(9))
        await work.desk.start(moved)
        await work.commit()
    async with backend.uow() as work:
        assert await work.desk.active(BIG + 1) == moved
        assert await work.desk.for_agent(BIG + 10) == [bobs]
        assert await work.desk.end(BIG + 1)
        assert not await work.desk.end(BIG + 1)
        await work.commit()
    async with backend.uow() as work:
        assert await work.desk.active(BIG + 1) is None
        assert await work.desk.for_agent(BIG + 11) == []


async def test_forum_topics(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    ticket = await add_ticket(backend.uow, ann)
    other = await add_ticket(backend.uow, ann)
    assert ticket.id is not None and other.id is not None
    group = -1_001_234_567_890
    async with backend.uow() as work:
        assert await work.topics.thread_of(ticket.id, group) is None
        await work.topics.save(ticket.id, group, 41)
        await work.topics.save(other.id, group, 42)
        await work.commit()
    async with backend.uow() as work:
        assert await work.topics.thread_of(ticket.id, group) == 41
        assert await work.topics.thread_of(ticket.id, group + 1) is None
        assert await work.topics.ticket_of(group, 42) == other.id
        await work.topics.save(ticket.id, group, 43)  # the topic was recreated
        await work.commit()
    async with backend.uow() as work:
        assert await work.topics.thread_of(ticket.id, group) == 43
        assert await work.topics.ticket_of(group, 41) is None
        assert await work.topics.ticket_of(group, 43) == ticket.id
        assert await work.topics.of_customer(ann.id or 0) == [
            (ticket.id, group, 43),
            (other.id, group, 42),
        ]
        assert await work.topics.of_customer((ann.id or 0) + 1) == []


# --- customer records and tiers --------------------------------------------------------------


def a_profile(customer_id: int, **overrides: Any) -> CustomerProfile:
    values: dict[str, Any] = {
        "phone": "+85291234567",
        "email": "ann@example.com",
        "birthday": date(1990, 2, 3),
        "tags": ("vip", "茶"),
        "marketing_consent": True,
        "marketing_consent_at": T0,
    }
    values.update(overrides)
    return CustomerProfile(customer_id, **values)


def a_standing(customer_id: int, tier: Tier = Tier.HIGH) -> TierInfo:
    return TierInfo(
        customer_id, tier, Lifecycle.ACTIVE, Segment.CHAMPIONS, 3, 7, 12_300, 5, 5, 4, T0.date()
    )


async def test_profiles_and_phone_lookup(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1, customer_ref="C00001")
    bob = await add_customer(backend.uow, 2)
    assert ann.id is not None and bob.id is not None
    async with backend.uow() as work:
        assert await work.records.get_by_ref("C00001") == ann
        assert await work.records.get_by_ref("C99999") is None
        assert await work.records.profile(ann.id) is None
        await work.records.save_profile(a_profile(ann.id))
        await work.records.save_profile(a_profile(bob.id, email=None, tags=()))
        await work.commit()
    async with backend.uow() as work:
        assert await work.records.profile(ann.id) == a_profile(ann.id)
        assert await work.records.find_by_phone("+85291234567") == [ann, bob]
        assert await work.records.find_by_phone("+85200000000") == []
        await work.records.save_profile(a_profile(ann.id, phone=None, marketing_consent=False))
        await work.commit()
    async with backend.uow() as work:
        assert await work.records.profile(ann.id) == a_profile(
            ann.id, phone=None, marketing_consent=False
        )
        assert await work.records.find_by_phone("+85291234567") == [bob]


async def test_consent_and_its_log(backend: Backend) -> None:
    """A consent change on a customer without a profile makes a bare one; with a profile it
    changes only the consent; every change is logged, oldest first."""
    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    assert ann.id is not None and bob.id is not None
    later = T0 + timedelta(minutes=5)
    async with backend.uow() as work:
        assert await work.records.consent(ann.id) == ConsentState()
        await work.records.save_profile(a_profile(bob.id))
        await work.records.record_consent(ConsentChange(ann.id, False, ConsentSource.STOP, T0))
        await work.records.record_consent(
            ConsentChange(bob.id, False, ConsentSource.BUTTON, later)
        )
        await work.commit()
    async with backend.uow() as work:
        assert await work.records.consent(ann.id) == ConsentState(False, T0)
        assert await work.records.profile(ann.id) == CustomerProfile(
            ann.id, marketing_consent=False, marketing_consent_at=T0
        )
        assert await work.records.profile(bob.id) == a_profile(
            bob.id, marketing_consent=False, marketing_consent_at=later
        )
        await work.records.record_consent(ConsentChange(ann.id, True, ConsentSource.START, later))
        await work.commit()
    async with backend.uow() as work:
        assert [(c.consent, c.source) for c in await work.records.consent_log(ann.id)] == [
            (False, ConsentSource.STOP),
            (True, ConsentSource.START),
        ]
        assert await work.records.consent_log(bob.id) == [
            ConsentChange(bob.id, False, ConsentSource.BUTTON, later)
        ]


async def test_coupons(backend: Backend) -> None:
    """Each customer sees only their own coupons, newest first; a code redeems once."""
    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    assert ann.id is not None and bob.id is not None
    spec = CouponSpec(CouponKind.PERCENT, 10, valid_days=30)

    def made(customer_id: int, code: str, ref: str, at: datetime) -> Any:
        return issue(
            spec,
            code=code,
            customer_id=customer_id,
            currency="CNY",
            source=CouponSource.RULE,
            source_ref=ref,
            now=at,
        )

    async with backend.uow() as work:
        first = await work.coupons.add(made(ann.id, "AAAA-2222", "engage:a:1:x", T0))
        later = await work.coupons.add(
            made(ann.id, "BBBB-3333", "engage:a:1:y", T0 + timedelta(days=1))
        )
        theirs = await work.coupons.add(made(bob.id, "CCCC-4444", "engage:a:2:x", T0))
        await work.commit()
    assert first.id is not None and first.code == "AAAA-2222"
    async with backend.uow() as work:
        assert await work.coupons.get_by_code("BBBB-3333") == later
        assert await work.coupons.get_by_code("ZZZZ-9999") is None
        assert await work.coupons.for_customer(ann.id) == [later, first]
        assert await work.coupons.for_customer(bob.id) == [theirs]
        placed = T0 + timedelta(days=2)
        orders = [
            OrderCoupon("O-1", ann.id, "aaaa 2222", placed, 9000, "CNY", OrderStatus.PAID),
            OrderCoupon("O-2", ann.id, "AAAA-2222", placed, 9000, "CNY", OrderStatus.PAID),
            OrderCoupon("O-3", ann.id, "CCCC-4444", placed, 9000, "CNY", OrderStatus.PAID),
        ]
        outcomes = await work.coupons.redeem(orders, placed)
        await work.commit()
    assert outcomes == {
        Redemption.REDEEMED: 1,
        Redemption.USED: 1,
        Redemption.OTHER_CUSTOMER: 1,
    }
    async with backend.uow() as work:
        redeemed = await work.coupons.get_by_code("AAAA-2222")
        assert redeemed is not None
        assert (redeemed.redeemed_order_id, redeemed.redeemed_amount_cents) == ("O-1", 9000)
        assert redeemed.redeemed_at == placed
        again = await work.coupons.redeem(orders[:1], placed)
    assert again == {Redemption.ALREADY_THIS_ORDER: 1}


async def seed_orders(backend: Backend, customer_id: int, orders: list[LoyaltyOrder]) -> None:
    """Orders as each backend keeps them: rows of ``customer_order``, or the fake's list."""
    if backend.name == "memory":
        assert isinstance(backend.uow, MemoryUnitOfWorkFactory)
        backend.uow.store.loyalty_orders[customer_id] = tuple(orders)
        return
    async with backend.uow() as work:
        session = work.session  # type: ignore[attr-defined]
        for o in orders:
            session.add(
                CustomerOrderRow(
                    order_id=o.order_id,
                    customer_id=customer_id,
                    amount_cents=o.amount_cents,
                    currency="CNY",
                    status=o.status.value,
                    created_at=o.paid_at or T0,
                    paid_at=o.paid_at,
                )
            )
        await work.commit()


async def test_loyalty_orders_and_ledger(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    assert ann.id is not None and bob.id is not None
    orders = [
        LoyaltyOrder("O-1", 12_345, OrderStatus.PAID, T0),
        LoyaltyOrder("O-2", 5_000, OrderStatus.REFUNDED, minutes(5)),
    ]
    await seed_orders(backend, ann.id, orders)
    entry = LoyaltyRedemption(ann.id, 500, "AAAA-2222", minutes(10))
    async with backend.uow() as work:
        assert await work.loyalty.orders(ann.id) == orders
        assert await work.loyalty.orders(bob.id) == []
        assert await work.loyalty.redemptions(ann.id) == []
        await work.loyalty.add_redemption(entry)
        await work.commit()
    async with backend.uow() as work:
        assert await work.loyalty.redemptions(ann.id) == [entry]
        assert await work.loyalty.redemptions(bob.id) == []


async def test_tiers(backend: Backend) -> None:
    ann = await add_customer(backend.uow)
    assert ann.id is not None
    history = [
        TierChange(ann.id, date(2026, 1, 1), None, Tier.BASE),
        TierChange(ann.id, date(2026, 2, 1), Tier.BASE, Tier.HIGH),
    ]
    async with backend.uow() as work:
        assert await work.tiers.tier_of(ann.id) is None
        assert await work.tiers.standing(ann.id) is None
        assert await work.tiers.history(ann.id) == []
    await backend.seed_tiers(a_standing(ann.id), history)
    async with backend.uow() as work:
        assert await work.tiers.tier_of(ann.id) is Tier.HIGH
        assert await work.tiers.standing(ann.id) == a_standing(ann.id)
        assert await work.tiers.history(ann.id) == history


async def test_absorbing_an_imported_record(backend: Backend) -> None:
    imported = await add_customer(
        backend.uow,
        1,
        telegram_user_id=None,
        chat_id=None,
        customer_ref="C00007",
        language="zh-Hans",
        timezone="Asia/Shanghai",
    )
    telegram = await add_customer(backend.uow, 2, timezone="Asia/Hong_Kong")
    assert imported.id is not None and telegram.id is not None
    change = TierChange(imported.id, date(2026, 1, 1), None, Tier.MID)
    await backend.seed_tiers(a_standing(imported.id, Tier.MID), [change])
    async with backend.uow() as work:
        await work.records.save_profile(a_profile(imported.id))
        await work.records.save_profile(a_profile(telegram.id, phone="+85200000000"))
        await work.commit()
    async with backend.uow() as work:
        await work.records.absorb(imported.id, telegram.id)
        await work.commit()
    async with backend.uow() as work:
        assert await work.customers.get(imported.id) is None
        linked = await work.customers.get(telegram.id)
        assert linked == replace(
            telegram, customer_ref="C00007", language="zh-Hans", timezone="Asia/Hong_Kong"
        )
        assert await work.records.get_by_ref("C00007") == linked
        assert await work.records.profile(telegram.id) == a_profile(telegram.id)
        assert await work.tiers.standing(telegram.id) == a_standing(telegram.id, Tier.MID)
        assert await work.tiers.history(telegram.id) == [replace(change, customer_id=telegram.id)]
        with pytest.raises(LookupError):
            await work.records.absorb(imported.id, telegram.id)


async def test_absorbing_a_record_without_standing_drops_the_prospect_standing(
    backend: Backend,
) -> None:
    imported = await add_customer(backend.uow, 1, telegram_user_id=None, customer_ref="C1")
    telegram = await add_customer(backend.uow, 2)
    assert imported.id is not None and telegram.id is not None
    await backend.seed_tiers(a_standing(telegram.id, Tier.PROSPECT), [])
    async with backend.uow() as work:
        await work.records.save_profile(a_profile(telegram.id))
        await work.records.absorb(imported.id, telegram.id)
        await work.commit()
    async with backend.uow() as work:
        assert await work.tiers.standing(telegram.id) is None  # until the next recompute
        assert await work.records.profile(telegram.id) == a_profile(telegram.id)


async def test_export_and_forget(backend: Backend) -> None:
    ann = await add_customer(backend.uow, 1, customer_ref="C00001", username="ann")
    assert ann.id is not None
    async with backend.uow() as work:
        said = await work.messages.add(logged(Direction.IN, 1, customer_id=ann.id, text="hi"))
        asked = await work.requests.add(
            SupportRequest(ann.id, BIG + 1, "help", RequestReason.FAQ_MISS, T0, minutes(60))
        )
        await work.records.save_profile(a_profile(ann.id))
        await work.commit()
    await backend.seed_tiers(
        a_standing(ann.id), [TierChange(ann.id, date(2026, 1, 1), None, Tier.HIGH)]
    )
    async with backend.uow() as work:
        export = await work.records.export(ann.id)
        with pytest.raises(LookupError):
            await work.records.export(ann.id + 1000)
    assert export == CustomerExport(
        customer=plain(ann),
        profile={
            "phone": "+85291234567",
            "email": "ann@example.com",
            "birthday": "1990-02-03",
            "tags": ["vip", "茶"],
            "marketing_consent": True,
            "marketing_consent_at": T0.isoformat(),
        },
        standing=plain(a_standing(ann.id), "customer_id"),
        tier_history=[{"as_of": "2026-01-01", "old_tier": None, "new_tier": "high"}],
        orders=[],
        messages=[plain(said, "customer_id")],
        requests=[plain(asked, "customer_id")],
    )

    async with backend.uow() as work:
        await work.records.forget(ann.id)
        with pytest.raises(LookupError):
            await work.records.forget(ann.id + 1000)
        await work.commit()
    async with backend.uow() as work:
        forgotten = await work.customers.get(ann.id)
        assert forgotten == replace(
            ann,
            telegram_user_id=None,
            chat_id=None,
            customer_ref=None,
            display_name="",
            first_name="",
            username=None,
        )
        assert await work.records.profile(ann.id) is None
        assert await work.messages.for_chat(BIG + 1) == []
        assert [(m.text, m.update_id) for m in await work.messages.for_chat(0)] == [(None, 1)]
        assert [(r.text, r.chat_id) for r in await work.requests.open_for_customer(ann.id)] == [
            ("", 0)
        ]
        after = await work.records.export(ann.id)
    assert after.profile is None and after.customer["display_name"] == ""
    assert [m["text"] for m in after.messages] == [None]


# --- the inbox ------------------------------------------------------------------------------


def _update(update_id: int, chat_id: int | None = BIG) -> ports.InboundUpdate:
    payload = {"update_id": update_id, "message": {"chat": {"id": chat_id}, "text": "hé ☕"}}
    return ports.InboundUpdate(update_id, chat_id, payload)


async def test_inbox_accepts_once_and_lets_go_when_handled(backend: Backend) -> None:
    async with backend.uow() as work:  # 7 was handled long ago: a re-delivery
        await work.messages.add(
            LoggedMessage(Direction.IN, chat_id=BIG, at=T0, text="old", update_id=7)
        )
        await work.commit()
    async with backend.uow() as work:
        batch = [_update(9), _update(8, None), _update(7), _update(9)]
        assert await work.inbox.add_new(batch, T0) == [9, 8]
        await work.commit()
    async with backend.uow() as work:  # not committed: no effect
        assert await work.inbox.add_new([_update(10)], T0) == [10]
    async with backend.uow() as work:
        assert await work.inbox.add_new([_update(8), _update(11)], T0) == [11]
        await work.commit()
    async with backend.uow() as work:
        assert await work.inbox.waiting() == [_update(8, None), _update(9), _update(11)]
        assert await work.inbox.waiting(after_update_id=8, limit=1) == [_update(9)]
        assert await work.inbox.is_waiting(9) and not await work.inbox.is_waiting(10)
        # a chat's older waiting updates (8 has no chat), for ordering across workers
        assert await work.inbox.older_waiting(BIG, 11) == [9]
        assert await work.inbox.older_waiting(BIG, 9) == []
        assert await work.inbox.older_waiting(BIG + 1, 11) == []
        await work.messages.add(
            LoggedMessage(Direction.IN, chat_id=BIG, at=T0, text="hé ☕", update_id=9)
        )
        await work.commit()
    async with backend.uow() as work:  # recorded in the log, not handled: still waiting
        assert await work.inbox.is_waiting(9)
        await work.messages.mark_handled(9, minutes(1))
        await work.inbox.discard(8)
        await work.inbox.discard(12345)  # unknown: no effect, no error
        await work.commit()
    async with backend.uow() as work:
        assert [u.update_id for u in await work.inbox.waiting()] == [11]
        assert not await work.inbox.is_waiting(9)
        assert await work.inbox.add_new([_update(9)], T0) == []  # handled: a re-delivery


# --- the outbox ------------------------------------------------------------------------------


def _queued(key: str, lane: Lane = Lane.SERVICE, at: float = 0, chat: int = BIG) -> OutboxMessage:
    message = Outgoing(
        chat_id=chat,
        text="<b>Ticket</b> T-1 is late",
        buttons=((OutButton("Open", "t:1"), OutButton("Close", "t:1:x")),),
        template_key="staff.sla_warning",
        about_customer_id=None,
        topic=TopicRef(1, "T-1 · Alice", 0x6FB9F0),
        thread_id=77,
    )
    return OutboxMessage(key, lane, message, created_at=minutes(at), not_before=minutes(at))


async def test_outbox_enqueues_once_claims_once_and_keeps_each_outcome(backend: Backend) -> None:
    async with backend.uow() as work:
        proactive = await work.outbox.enqueue(_queued("revisit:1", Lane.PROACTIVE, at=0))
        service = await work.outbox.enqueue(_queued("sla:1:warn:7", at=1))
        later = await work.outbox.enqueue(_queued("sla:2:warn:7", at=2))
        assert await work.outbox.enqueue(_queued("sla:1:warn:7", at=3)) is None
        await work.commit()
    assert proactive and service and later
    async with backend.uow() as work:  # the key is taken across transactions too
        assert await work.outbox.enqueue(_queued("revisit:1", Lane.PROACTIVE)) is None
        batch = [_queued(k, Lane.PROACTIVE) for k in ("revisit:1", "news:1", "news:1", "news:2")]
        assert await work.outbox.enqueue_many(batch) == ["news:1", "news:2"]  # new keys, once
        assert await work.outbox.enqueue_many(batch) == []
        assert await work.outbox.enqueue_many([]) == []
        await work.rollback()
        stored = await work.outbox.get(service)
        assert stored is not None and stored.message == _queued("k", at=1).message
        assert stored.state is OutboxState.PENDING and stored.attempts == 0
        due = await work.outbox.due(minutes(5), minutes(-60), 10)
        assert [r.id for r in due] == [service, later, proactive]  # service lane, oldest first
        assert [r.id for r in await work.outbox.due(minutes(1.5), minutes(-60), 10)] == [
            service,
            proactive,
        ]
        assert await work.outbox.claim(service, "a:1", minutes(5), minutes(-60))
        assert not await work.outbox.claim(service, "b:2", minutes(5), minutes(-60))
        assert await work.outbox.claim(later, "a:1", minutes(5), None)
        assert await work.outbox.claim(proactive, "a:1", minutes(5), None)
        await work.commit()
    async with backend.uow() as work:
        assert [r.id for r in await work.outbox.due(minutes(6), minutes(-60), 10)] == []
        stale = await work.outbox.due(minutes(20), minutes(10), 10)  # claimed at 5 < 10
        assert {r.id for r in stale} == {service, later, proactive}
        assert not await work.outbox.claim(service, "b:2", minutes(20), None)
        assert await work.outbox.claim(service, "b:2", minutes(20), minutes(10))
        assert not await work.outbox.claim(service, "c:3", minutes(20), minutes(10))
        await work.outbox.mark_sent(service, minutes(21), 555)
        await work.outbox.finish(later, OutboxState.FAILED, "Bad Request: can't parse", 1)
        await work.outbox.release(proactive, "Bad Gateway", 1, minutes(30))
        await work.commit()
    async with backend.uow() as work:
        sent, failed, waiting = [await work.outbox.get(i) for i in (service, later, proactive)]
        assert sent and sent.state is OutboxState.SENT and sent.telegram_message_id == 555
        assert sent.claimed_by == "b:2" and sent.sent_at == minutes(21)
        assert failed and failed.state is OutboxState.FAILED and failed.attempts == 1
        assert waiting and waiting.state is OutboxState.PENDING and waiting.attempts == 1
        assert waiting.not_before == minutes(30) and waiting.last_error == "Bad Gateway"
        assert [r.id for r in await work.outbox.due(minutes(29), minutes(-60), 10)] == []
        summary = await work.outbox.summary()
        assert summary.counts == {
            ("service", "sent"): 1,
            ("service", "failed"): 1,
            ("proactive", "pending"): 1,
        }
        assert summary.oldest_pending == minutes(0)
        assert summary.last_errors == [(later, "failed", "Bad Request: can't parse")]
        assert summary.failing_chats == []  # no chat watched
        watched = await work.outbox.summary(watch=[BIG, BIG + 1])
        # the failed row and the one waiting after a 502: the newest one's error
        assert watched.failing_chats == [(BIG, 2, "Bad Request: can't parse")]
        assert not await work.outbox.requeue(service, minutes(40))  # sent stays sent
        assert await work.outbox.requeue(later, minutes(40))
        await work.outbox.claim(later, "a:1", minutes(40), None)
        await work.outbox.finish(later, OutboxState.FAILED, "again", 1)
        assert await work.outbox.requeue_failed(minutes(41)) == 1
        await work.commit()
    async with backend.uow() as work:
        again = await work.outbox.get(later)
        assert again and again.state is OutboxState.PENDING and again.attempts == 0
        assert again.not_before == minutes(41)
        assert await work.outbox.get(999_999) is None
        assert await work.outbox.claim(later, "dead:7", minutes(42), None)
        assert await work.outbox.claim(proactive, "live:8", minutes(42), minutes(41))
        await work.commit()
    async with backend.uow() as work:
        assert sorted(await work.outbox.claimants()) == ["dead:7", "live:8"]
        assert await work.outbox.release_claims("dead:7", "sender died", minutes(43)) == 1
        assert await work.outbox.release_claims("nobody:1", "sender died", minutes(43)) == 0
        await work.commit()
    async with backend.uow() as work:
        assert await work.outbox.claimants() == ["live:8"]
        freed = await work.outbox.get(later)
        assert freed and freed.state is OutboxState.PENDING and freed.claimed_by is None
        assert freed.not_before == minutes(43) and freed.last_error == "sender died"


async def test_outbox_claims_and_marks_sent_many_rows_at_once(backend: Backend) -> None:
    async with backend.uow() as work:
        ids = [await work.outbox.enqueue(_queued(f"bulk:{n}", at=n)) for n in range(4)]
        await work.commit()
    first, second, third, fourth = [i for i in ids if i is not None]
    async with backend.uow() as work:
        assert await work.outbox.claim_many([], "a:1", minutes(5), None) == []
        assert await work.outbox.claim(second, "b:2", minutes(5), None)
        await work.commit()
    async with backend.uow() as work:  # the one b:2 holds is not a:1's; the rest, in order
        won = await work.outbox.claim_many(
            [third, second, first, 999_999], "a:1", minutes(6), None
        )
        assert won == [third, first]
        assert await work.outbox.claim_many([first, third], "c:3", minutes(6), None) == []
        await work.commit()
    async with backend.uow() as work:
        # Stale claims (made at 5 and 6, before 10) are claimed again; pending ones as ever.
        won = await work.outbox.claim_many(
            [first, second, fourth], "c:3", minutes(20), minutes(10)
        )
        assert won == [first, second, fourth]
        await work.commit()
    async with backend.uow() as work:
        await work.outbox.mark_sent_many([(first, 501), (second, 502)], minutes(21))
        await work.outbox.mark_sent_many([], minutes(21))
        await work.outbox.finish(fourth, OutboxState.SKIPPED, "Forbidden", 0)
        await work.outbox.mark_sent_many([(fourth, 504)], minutes(22))  # no longer sending
        await work.commit()
    async with backend.uow() as work:
        rows = {i: await work.outbox.get(i) for i in (first, second, third, fourth)}
    sent = [rows[first], rows[second]]
    assert [(r.state, r.telegram_message_id, r.sent_at) for r in sent if r] == [
        (OutboxState.SENT, 501, minutes(21)),
        (OutboxState.SENT, 502, minutes(21)),
    ]
    held, skipped = rows[third], rows[fourth]
    assert held and held.state is OutboxState.SENDING and held.claimed_by == "a:1"
    assert held.claimed_at == minutes(6)
    assert skipped and skipped.state is OutboxState.SKIPPED and skipped.telegram_message_id is None
    async with backend.uow() as work:  # a:1 renews its claim; another's or a sent row is not
        assert await work.outbox.refresh_claims([third, first, fourth], "a:1", minutes(30)) == 1
        assert await work.outbox.refresh_claims([third], "c:3", minutes(31)) == 0
        assert await work.outbox.refresh_claims([], "a:1", minutes(31)) == 0
        await work.commit()
    async with backend.uow() as work:
        renewed = await work.outbox.get(third)
        assert renewed and renewed.claimed_at == minutes(30) and renewed.claimed_by == "a:1"
        assert await work.outbox.due(minutes(31), minutes(20), 10) == []  # not stale now


# --- coverage of the ports -------------------------------------------------------------------


async def test_engagement_facts_gather_what_the_playbook_reads(backend: Backend) -> None:
    """Orders are left out: the fake keeps them apart (``MemoryStore.orders``), the SQL rows
    come from the import, tested in ``tests/integration/test_engagement_storage.py``."""
    ann = await add_customer(backend.uow, 1, timezone="Asia/Shanghai", language_code="zh-TW")
    bob = await add_customer(backend.uow, 2, reachability=Reachability.BLOCKED)
    assert ann.id is not None and bob.id is not None
    complaint = await add_ticket(backend.uow, ann)
    assert complaint.id is not None
    await backend.seed_tiers(
        a_standing(ann.id), [TierChange(ann.id, date(2026, 2, 1), Tier.BASE, Tier.HIGH)]
    )
    message = replace(_queued("k").message, chat_id=BIG + 1, about_customer_id=ann.id)
    async with backend.uow() as work:
        await work.records.save_profile(a_profile(ann.id))
        await work.staff.set_advisor(ann.id, BIG + 50)
        await work.ratings.add(Rating(complaint.id, ann.id, 2, minutes(5)))
        for key in (f"engage:birthday:{ann.id}:2026", f"revisit:{complaint.id}"):
            await work.outbox.enqueue(
                OutboxMessage(key, Lane.PROACTIVE, message, minutes(1), minutes(9))
            )
        await work.commit()
    async with backend.uow() as work:
        first, second = await work.engagement.customer_facts()
        assert await work.engagement.customer_facts(after_id=ann.id) == [second]
        assert await work.engagement.customer_facts(limit=1) == [first]
    assert first == CustomerFacts(
        customer_id=ann.id,
        name="Ann",
        chat_id=BIG + 1,
        language_code="zh-TW",
        timezone="Asia/Shanghai",
        tier=Tier.HIGH,
        stage=Lifecycle.ACTIVE,
        segment=Segment.CHAMPIONS,
        tags=frozenset({"vip", "茶"}),
        has_advisor=True,
        consent=True,
        birthday=date(1990, 2, 3),
        complaints=(T0,),
        ratings=((minutes(5), 2),),
        tier_changed_on=date(2026, 2, 1),
        sent=(SentEngagement(f"engage:birthday:{ann.id}:2026", minutes(9)),),
    )
    assert second == CustomerFacts(
        customer_id=bob.id, name="Ann", chat_id=BIG + 2, reachability=Reachability.BLOCKED
    )


def test_every_port_method_is_exercised() -> None:
    """Each method of each repository of the unit of work is called somewhere above."""
    source = Path(__file__).read_text(encoding="utf-8")
    missing = []
    for attribute, protocol_name in UnitOfWork.__annotations__.items():
        protocol = getattr(ports, protocol_name)
        for name, _member in inspect.getmembers(protocol, inspect.isfunction):
            if not name.startswith("_") and f"work.{attribute}.{name}(" not in source:
                missing.append(f"{attribute}.{name}")
    assert missing == []


async def test_news_items(backend: Backend) -> None:
    async with backend.uow() as work:
        first = await work.news.add(NewsItem(0, "en", "Autumn teas", "Oolong is back.", T0))
        second = await work.news.add(NewsItem(0, "zh-Hans", "秋茶", "乌龙回来了。", minutes(5)))
        await work.commit()
    assert first.id and second.id and first.id != second.id
    async with backend.uow() as work:
        assert await work.news.since(T0 - timedelta(days=1)) == [first, second]
        assert await work.news.since(T0) == [second]  # strictly after
        assert await work.news.since(minutes(5)) == []


async def test_campaigns_and_their_recipients(backend: Backend) -> None:
    """A campaign stored and moved; its recipients frozen once, decided once, cancelled;
    their outbox rows, orders and coupons read back for the report."""
    from bot.core.campaigns.model import (
        Campaign,
        CampaignAudience,
        CampaignSpec,
        CampaignState,
        LinkButton,
        LocaleMessage,
        Recipient,
        RecipientStatus,
        recipient_key,
    )
    from bot.core.campaigns.uplift import OrderRecord
    from bot.core.engagement.facts import OrderFact

    ann = await add_customer(backend.uow, 1)
    bob = await add_customer(backend.uow, 2)
    cy = await add_customer(backend.uow, 3)
    assert ann.id is not None and bob.id is not None and cy.id is not None
    spec = CampaignSpec(
        "Spring",
        CampaignAudience(),
        {"en": LocaleMessage("Hi {name}", buttons=(LinkButton("Go", "https://x.example"),))},
        coupon=CouponSpec(CouponKind.PERCENT, 10, valid_days=7),
        holdout=0.25,
    )
    async with backend.uow() as work:
        first = await work.campaigns.add(Campaign(spec, CampaignState.DRAFT, 7, T0, "mo"))
        second = await work.campaigns.add(Campaign(spec, CampaignState.DRAFT, 8, T0, "mo"))
        await work.commit()
    assert first.id is not None and second.id is not None and first.id != second.id
    cid = first.id
    async with backend.uow() as work:
        assert [c.id for c in await work.campaigns.all()] == [second.id, cid]
        stored = await work.campaigns.get(cid)
        assert stored is not None and stored.spec == spec and stored.seed == 7
        assert await work.campaigns.get(999_999) is None
        stored.state, stored.next_run_at = CampaignState.SCHEDULED, minutes(10)
        await work.campaigns.save(stored)
        await work.commit()
    async with backend.uow() as work:
        assert await work.campaigns.due(minutes(9)) == []
        assert await work.campaigns.due(minutes(10)) == [cid]
        running = await work.campaigns.get(cid)
        assert running is not None
        running.state, running.run, running.run_started_at = CampaignState.RUNNING, 1, T0
        running.cursor, running.frozen = cy.id, False
        await work.campaigns.save(running)
        await work.campaigns.add_recipients(
            [
                Recipient(cid, 1, ann.id, holdout=False),
                Recipient(cid, 1, bob.id, holdout=True),
                Recipient(cid, 1, cy.id, holdout=False),
            ]
        )
        await work.commit()
    async with backend.uow() as work:
        assert await work.campaigns.running() == [cid]
        again = await work.campaigns.get(cid)
        assert again is not None and (again.run, again.cursor, again.frozen) == (1, cy.id, False)
        pending = await work.campaigns.pending(cid, 1, 2)
        assert [r.customer_id for r in pending] == [ann.id, bob.id]
        pending[0].status, pending[0].not_before = RecipientStatus.QUEUED, T0
        pending[1].status, pending[1].reason = RecipientStatus.HOLDOUT, "no_consent"
        pending[1].not_before = T0
        await work.campaigns.decide(pending)
        key = recipient_key(cid, 1, ann.id)
        message = Outgoing(chat_id=ann.chat_id or 0, text="Hi", about_customer_id=ann.id)
        await work.outbox.enqueue(OutboxMessage(key, Lane.PROACTIVE, message, T0, T0))
        await work.coupons.add(
            issue(
                CouponSpec(CouponKind.PERCENT, 10),
                code="CAMP-2222",
                customer_id=ann.id,
                currency="CNY",
                source=CouponSource.CAMPAIGN,
                source_ref=key,
                now=T0,
            )
        )
        await work.commit()
    async with backend.uow() as work:
        assert await work.campaigns.in_outbox(cid) == 1
        assert await work.campaigns.in_outbox(second.id) == 0
        assert await work.campaigns.progress(cid) == {"queued": 1, "holdout": 1, "pending": 1}
        assert await work.campaigns.cancel_pending(cid, minutes(5)) == 1
        assert await work.campaigns.lock_running(cid) is True
        assert await work.campaigns.lock_running(second.id) is False  # a draft
        assert await work.campaigns.pause_outbox(cid) == 1
        assert await work.campaigns.in_outbox(cid) == 1  # held, still waiting
        assert await work.outbox.due(minutes(60), T0, 10) == []
        assert await work.campaigns.resume_outbox(cid) == 1
        assert await work.campaigns.pause_outbox(second.id) == 0
        await work.commit()
    async with backend.uow() as work:
        outcomes = await work.campaigns.outcomes(cid)
        assert [(o.customer_id, o.status, o.outbox_state) for o in outcomes] == [
            (ann.id, RecipientStatus.QUEUED, OutboxState.PENDING),
            (bob.id, RecipientStatus.HOLDOUT, None),
            (cy.id, RecipientStatus.CANCELLED, None),
        ]
        assert outcomes[1].reason == "no_consent" and outcomes[1].at == T0
        assert await work.campaigns.outcomes(cid, run=2) == []
        assert await work.campaigns.coupons(cid) == (1, 0)
    placed = T0 + timedelta(days=1)
    if backend.name == "memory":
        assert isinstance(backend.uow, MemoryUnitOfWorkFactory)
        backend.uow.store.orders[ann.id] = (
            OrderFact("A-1", OrderStatus.PAID, placed, placed, amount_cents=5000),
            OrderFact("A-2", OrderStatus.CANCELLED, placed, amount_cents=700),
            OrderFact("A-3", OrderStatus.PAID, T0 - timedelta(days=1), amount_cents=900),
        )
    else:
        async with backend.uow() as work:
            for ref, status, at, amount in (
                ("A-1", "paid", placed, 5000),
                ("A-2", "cancelled", placed, 700),
                ("A-3", "paid", T0 - timedelta(days=1), 900),
            ):
                work.session.add(  # type: ignore[attr-defined]
                    CustomerOrderRow(
                        order_id=ref,
                        customer_id=ann.id,
                        amount_cents=amount,
                        currency="CNY",
                        status=status,
                        created_at=at,
                    )
                )
            await work.commit()
    async with backend.uow() as work:
        found = await work.campaigns.orders_of([ann.id, bob.id], T0, T0 + timedelta(days=14))
    assert sorted(found, key=lambda o: o.amount_cents) == [
        OrderRecord(ann.id, placed, 700, False),
        OrderRecord(ann.id, placed, 5000, True),
    ]
    async with backend.uow() as work:  # cancelled: the unsent row is skipped, Ann cancelled
        assert await work.campaigns.cancel_outbox(cid, minutes(20)) == 1
        assert await work.campaigns.cancel_outbox(cid, minutes(21)) == 0
        await work.commit()
    async with backend.uow() as work:
        outcomes = await work.campaigns.outcomes(cid)
        assert (outcomes[0].status, outcomes[0].outbox_state) == (
            RecipientStatus.CANCELLED,
            OutboxState.SKIPPED,
        )
        assert await work.campaigns.in_outbox(cid) == 0


async def test_staff_tasks(backend: Backend) -> None:
    """Unique per (kind, customer, period); decided once; listed newest first."""
    async with backend.uow() as work:
        customer = await work.customers.add(a_customer(1))
        assert customer.id is not None

        def task(kind: TaskKind, period: str, at: datetime) -> StaffTask:
            return StaffTask(kind, customer.id or 0, period, -100500, at, "why", rule_id="r")

        first = await work.tasks.add(task(TaskKind.ADVISOR_CHECKIN, "2026-12", T0))
        second = await work.tasks.add(task(TaskKind.CALLBACK, "2026-12", minutes(5)))
        assert await work.tasks.add(task(TaskKind.CALLBACK, "2026-12", minutes(6))) is None
        await work.commit()
    assert first is not None and second is not None and first.id and second.id
    assert (first.state, first.assignee, first.choice) == (TaskState.OPEN, None, None)
    async with backend.uow() as work:
        assert await work.tasks.get(first.id) == first
        assert await work.tasks.get(10**9) is None
        assert await work.tasks.decide(
            first.id, TaskState.SKIPPED, TaskChoice.SKIP, 7001, minutes(9)
        )
        assert not await work.tasks.decide(
            first.id, TaskState.DONE, TaskChoice.CONTACTED, 7002, minutes(9)
        )
        await work.commit()
    async with backend.uow() as work:
        assert [t.id for t in await work.tasks.listing()] == [second.id, first.id]
        assert [t.id for t in await work.tasks.listing(open_only=True)] == [second.id]
        decided = await work.tasks.get(first.id)
    assert decided is not None
    assert (decided.state, decided.choice, decided.acted_by, decided.acted_at) == (
        TaskState.SKIPPED,
        TaskChoice.SKIP,
        7001,
        minutes(9),
    )


async def test_surveys(backend: Backend) -> None:
    """Unique per (customer, rule, period); answered and changed; the first comment kept;
    listed by the moment they were sent."""
    async with backend.uow() as work:
        customer = await work.customers.add(a_customer(1))
        assert customer.id is not None
        first = await work.surveys.add(Survey(customer.id, "survey-high", "2026Q4", "high", T0))
        again = Survey(customer.id, "survey-high", "2026Q4", "mid", minutes(1))
        assert await work.surveys.add(again) is None
        later = Survey(customer.id, "survey-high", "2027Q1", "mid", minutes(60))
        second = await work.surveys.add(later)
        await work.commit()
    assert first is not None and second is not None and first.id and second.id
    async with backend.uow() as work:
        await work.surveys.answer(first.id, 3, minutes(5))
        await work.surveys.answer(first.id, 8, minutes(5))  # changed within the window
        assert await work.surveys.set_comment(first.id, "Lovely tea")
        assert not await work.surveys.set_comment(first.id, "second thoughts")
        await work.commit()
    async with backend.uow() as work:
        answered = await work.surveys.get(first.id)
        assert await work.surveys.get(10**9) is None
        assert [s.id for s in await work.surveys.sent_between(T0, minutes(61))] == [
            first.id,
            second.id,
        ]
        assert [s.id for s in await work.surveys.sent_between(T0, minutes(60))] == [first.id]
    assert answered is not None
    assert (answered.score, answered.answered_at, answered.comment, answered.tier) == (
        8,
        minutes(5),
        "Lovely tea",
        "high",
    )


async def test_profile_asks_first_orders_and_active_facts(backend: Backend) -> None:
    """Each field asked once per customer, its first answer kept; the zone kept on the
    customer; customers found by their first order's moment; the report's read of the
    active ones with their tier."""
    ann = await add_customer(backend.uow, 1, customer_ref="C1", language="zh-Hant")
    bob = await add_customer(backend.uow, 2)
    gone = await add_customer(backend.uow, 3, reachability=Reachability.BLOCKED)
    idle = await add_customer(backend.uow, 4)  # reachable, never ordered: no first order
    eve = await add_customer(backend.uow, 5)  # her only order is exactly at T0: since T0
    assert ann.id is not None and bob.id is not None and gone.id is not None
    assert idle.id is not None and eve.id is not None
    language, zone = ProfileField.LANGUAGE, ProfileField.TIMEZONE
    async with backend.uow() as work:
        assert await work.profile.record_ask(ann.id, language, T0)
        assert not await work.profile.record_ask(ann.id, language, minutes(1))
        assert await work.profile.record_ask(ann.id, zone, minutes(2))
        await work.profile.answer(ann.id, zone, ProfileAnswer.GIVEN, minutes(3))
        await work.profile.answer(ann.id, zone, ProfileAnswer.LATER, minutes(4))  # ignored
        await work.profile.answer(bob.id, zone, ProfileAnswer.LATER, minutes(4))  # no ask
        await work.profile.set_timezone(ann.id, "Asia/Taipei", minutes(3))
        await work.commit()
    async with backend.uow() as work:
        asked = await work.profile.asked(ann.id)
        assert await work.profile.asked(bob.id) == {}
        stored = await work.customers.get(ann.id)
    assert asked == {
        language: ProfileAsk(ann.id, language, T0),
        zone: ProfileAsk(ann.id, zone, minutes(2), ProfileAnswer.GIVEN, minutes(3)),
    }
    assert stored is not None and stored.timezone == "Asia/Taipei"
    placed = {
        ann.id: [minutes(5), T0 - timedelta(days=3)],  # the older order stored second
        bob.id: [minutes(5)],
        gone.id: [T0],
        eve.id: [T0],
    }
    if isinstance(backend.uow, MemoryUnitOfWorkFactory):
        for cid, moments in placed.items():
            backend.uow.store.orders[cid] = tuple(
                OrderFact(f"O-{cid}-{n}", OrderStatus.PENDING, at) for n, at in enumerate(moments)
            )
    else:
        async with backend.uow() as work:
            for cid, moments in placed.items():
                for n, at in enumerate(moments):
                    work.session.add(  # type: ignore[attr-defined]
                        CustomerOrderRow(
                            order_id=f"O-{cid}-{n}",
                            customer_id=cid,
                            amount_cents=100,
                            currency="CNY",
                            status="pending",
                            created_at=at,
                        )
                    )
            await work.commit()
    await backend.seed_tiers(a_standing(ann.id, Tier.HIGH), [])
    await backend.seed_tiers(
        replace(a_standing(bob.id, Tier.MID), lifecycle=Lifecycle.DORMANT), []
    )
    async with backend.uow() as work:
        # ann: an earlier order; gone: blocked; idle: no order at all
        assert await work.profile.first_orders_since(T0) == [bob.id, eve.id]
        assert await work.profile.first_orders_since(minutes(1)) == [bob.id]
        earlier = T0 - timedelta(days=4)
        assert await work.profile.first_orders_since(earlier) == [ann.id, bob.id, eve.id]
        assert await work.profile.first_orders_since(earlier, limit=1) == [ann.id]
        assert await work.profile.first_orders_since(earlier, ann.id) == [bob.id, eve.id]
        active = await work.profile.active_facts(["new", "active"])
    assert active == [ProfileFacts("high", "zh-Hant", None, "Asia/Taipei", linked=True)]
