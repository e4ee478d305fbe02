"""Integration tests of `storage` against real SQLite files (one per test, under tmp_path).

They migrate with alembic exactly as the application does, then drive the repositories only
through the unit of work, as the core would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

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
from bot.core.ports import DuplicateUpdate
from storage.columns import UTCDateTime
from storage.engine import make_engine
from storage.migrate import alembic_config, downgrade, upgrade
from storage.tables import metadata
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.postgres_server import SQLITE_ONLY

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BIG_ID = 7_123_456_789  # Telegram ids exceed 2**31
# Every table the models declare; the migrations must create exactly these (features add
# tables in their own modules of storage.tables, so the set is read, not listed).
TABLES = set(metadata.tables)
assert {"customer", "message_log", "conversation", "support_request"} <= TABLES


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def db_url(database_url: str) -> str:
    return database_url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory.from_engine(engine)


def a_customer(n: int = 1, **overrides: Any) -> Customer:
    values: dict[str, Any] = {
        "telegram_user_id": BIG_ID + n,
        "chat_id": BIG_ID + n,
        "display_name": f"Ada Lovelace {n}",
        "first_name": "Ada",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return Customer(**values)


async def add_customer(factory: SqlUnitOfWorkFactory, n: int = 1) -> Customer:
    async with factory() as uow:
        customer = await uow.customers.add(a_customer(n))
        await uow.commit()
    return customer


def inbound(update_id: int | None, chat_id: int = BIG_ID, **overrides: Any) -> LoggedMessage:
    values: dict[str, Any] = {
        "direction": Direction.IN,
        "chat_id": chat_id,
        "at": T0,
        "text": "hello",
        "update_id": update_id,
    }
    values.update(overrides)
    return LoggedMessage(**values)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


# --- engine and migrations -------------------------------------------------------------------


async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await upgrade(db_url)
        assert await table_names(engine) == TABLES | {"alembic_version"}
        await downgrade(db_url, "base")
        assert await table_names(engine) == {"alembic_version"}
        await upgrade(db_url)
        assert await table_names(engine) == TABLES | {"alembic_version"}
        async with engine.connect() as conn:
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
        heads = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
        assert sorted(v for (v,) in version) == sorted(heads)
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_schema_comparison_would_notice_a_difference(engine: AsyncEngine) -> None:
    """Guards the test above against comparing nothing."""
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP INDEX ix_customer_chat_id")
        await conn.exec_driver_sql("ALTER TABLE conversation ADD COLUMN extra INTEGER")

    def differences(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with engine.connect() as conn:
        found = await conn.run_sync(differences)
    kinds = {diff[0] for diff in found}
    assert {"add_index", "remove_column"} <= kinds


@SQLITE_ONLY
async def test_sqlite_connection_settings(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:

        async def pragma(name: str) -> Any:
            return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()

        assert await pragma("journal_mode") == "wal"
        assert await pragma("foreign_keys") == 1
        assert await pragma("busy_timeout") == 5000
        assert await pragma("synchronous") == 1  # NORMAL


async def test_in_memory_database_with_shared_engine() -> None:
    url = "sqlite+aiosqlite:///:memory:"
    engine = make_engine(url)
    try:
        await upgrade(url, engine=engine)
        factory = SqlUnitOfWorkFactory.from_engine(engine)
        customer = await add_customer(factory)
        assert customer.telegram_user_id is not None
        async with factory() as uow:
            assert await uow.customers.get_by_telegram_id(customer.telegram_user_id) == customer
    finally:
        await engine.dispose()


def test_tables_compile_for_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    for table in metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
        if any(isinstance(c.type, UTCDateTime) for c in table.columns):
            assert "TIMESTAMP WITH TIME ZONE" in ddl, table.name
        assert "DATETIME" not in ddl and "TIMESTAMP WITHOUT" not in ddl, table.name


# --- customers -------------------------------------------------------------------------------


async def test_customer_round_trip(uow: SqlUnitOfWorkFactory) -> None:
    shanghai = timezone(timedelta(hours=8))
    new = a_customer(
        username="ada",
        language_code="zh-hk",
        created_at=datetime(2025, 3, 1, 20, 0, tzinfo=shanghai),  # = T0 in UTC
        updated_at=T0,
    )
    async with uow() as u:
        added = await u.customers.add(new)
        await u.commit()
    assert added.id is not None

    async with uow() as u:
        got = await u.customers.get(added.id)
        assert got is not None
        assert got.telegram_user_id == BIG_ID + 1
        assert got.created_at == T0
        assert got.created_at.tzinfo is UTC
        assert got.reachability is Reachability.REACHABLE
        assert await u.customers.get_by_telegram_id(BIG_ID + 1) == got
        assert await u.customers.get_by_chat_id(BIG_ID + 1) == got
        assert await u.customers.get(added.id + 1000) is None
        assert await u.customers.get_by_telegram_id(42) is None

        got.reachability = Reachability.BLOCKED
        got.language = "zh-Hant"
        got.timezone = "Asia/Hong_Kong"
        got.updated_at = T0 + timedelta(days=1)
        await u.customers.update(got)
        await u.commit()

    async with uow() as u:
        again = await u.customers.get(added.id)
    assert again is not None
    assert again.reachability is Reachability.BLOCKED
    assert (again.language, again.timezone) == ("zh-Hant", "Asia/Hong_Kong")
    assert again.updated_at == T0 + timedelta(days=1)
    assert again.updated_at.tzinfo is UTC
    assert again.created_at == T0


async def test_customer_update_needs_a_stored_customer(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        with pytest.raises(ValueError):
            await u.customers.update(a_customer())
        with pytest.raises(LookupError):
            await u.customers.update(a_customer(id=999))


async def test_customer_telegram_id_is_unique(uow: SqlUnitOfWorkFactory) -> None:
    await add_customer(uow)
    async with uow() as u:
        with pytest.raises(IntegrityError):
            await u.customers.add(a_customer())


async def test_naive_datetimes_are_refused(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        with pytest.raises(StatementError, match="naive datetime"):
            await u.customers.add(a_customer(created_at=datetime(2025, 1, 1)))


# --- message log -----------------------------------------------------------------------------


async def test_message_log_detects_a_redelivered_update(uow: SqlUnitOfWorkFactory) -> None:
    customer = await add_customer(uow)
    async with uow() as u:
        first = await u.messages.add(inbound(500, customer_id=customer.id))
        assert first.id is not None
        assert await u.messages.has_update(500)
        assert not await u.messages.has_update(501)
        await u.commit()

    async with uow() as u:
        with pytest.raises(DuplicateUpdate):
            await u.messages.add(inbound(500, text="again"))
        # The unit of work survives the duplicate: more work and a commit still succeed.
        await u.messages.add(inbound(501))
        await u.conversations.save(Conversation(BIG_ID, "complaint", "ask", T0, {"n": 1}))
        await u.commit()

    async with uow() as u:
        log = await u.messages.for_chat(BIG_ID)
        assert [(m.update_id, m.text) for m in log] == [(500, "hello"), (501, "hello")]
        assert await u.conversations.get(BIG_ID) is not None


async def test_duplicate_within_one_unit_of_work(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        await u.messages.add(inbound(7))
        with pytest.raises(DuplicateUpdate):
            await u.messages.add(inbound(7))
        await u.commit()
    async with uow() as u:
        assert len(await u.messages.for_chat(BIG_ID)) == 1


async def test_other_integrity_errors_are_not_duplicates(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        with pytest.raises(IntegrityError):  # unknown customer: foreign keys are enforced
            await u.messages.add(inbound(8, customer_id=12345))


async def test_many_outbound_rows_without_update_id(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        for i in range(5):
            out = LoggedMessage(
                Direction.OUT, BIG_ID, T0 + timedelta(seconds=i), template_key="faq.answer"
            )
            assert (await u.messages.add(out)).id is not None
        await u.commit()
    async with uow() as u:
        log = await u.messages.for_chat(BIG_ID)
    assert len(log) == 5
    assert all(m.update_id is None and m.direction is Direction.OUT for m in log)


async def test_mark_handled(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        await u.messages.add(inbound(900))
        await u.messages.add(inbound(901))
        await u.commit()
    done = T0 + timedelta(seconds=2)
    async with uow() as u:
        await u.messages.mark_handled(900, done)
        await u.messages.mark_handled(12345, done)  # unknown: no effect, no error
        await u.commit()
    async with uow() as u:
        by_update = {m.update_id: m for m in await u.messages.for_chat(BIG_ID)}
    assert by_update[900].handled_at == done
    assert by_update[900].handled_at.tzinfo is UTC
    assert by_update[901].handled_at is None


async def test_for_chat_returns_the_most_recent_oldest_first(uow: SqlUnitOfWorkFactory) -> None:
    other_chat = BIG_ID + 99
    async with uow() as u:
        # Inserted out of order; two share a timestamp (then the id decides).
        for minute, update_id in [(3, 3), (1, 1), (4, 4), (2, 2), (4, 5)]:
            at = T0 + timedelta(minutes=minute)
            await u.messages.add(inbound(update_id, at=at))
        await u.messages.add(inbound(100, chat_id=other_chat))
        await u.commit()
    async with uow() as u:
        everything = await u.messages.for_chat(BIG_ID)
        last_three = await u.messages.for_chat(BIG_ID, limit=3)
        assert [m.update_id for m in await u.messages.for_chat(other_chat)] == [100]
        assert await u.messages.for_chat(12345) == []
    assert [m.update_id for m in everything] == [1, 2, 3, 4, 5]
    assert [m.update_id for m in last_three] == [3, 4, 5]
    assert all(m.at.tzinfo is UTC for m in everything)


# --- conversations ---------------------------------------------------------------------------


async def test_conversation_save_get_overwrite_clear(uow: SqlUnitOfWorkFactory) -> None:
    data: dict[str, Any] = {
        "order": "A-17",
        "items": [1, 2],
        "note": "退貨",
        "nested": {"x": None},
    }
    async with uow() as u:
        assert await u.conversations.get(BIG_ID) is None
        await u.conversations.save(Conversation(BIG_ID, "complaint", "describe", T0, data))
        await u.commit()
    async with uow() as u:
        got = await u.conversations.get(BIG_ID)
        assert got == Conversation(BIG_ID, "complaint", "describe", T0, data)
        assert got is not None and got.updated_at.tzinfo is UTC
        got.data["confirmed"] = True  # the stored copy must not change by this alone
        await u.conversations.save(
            Conversation(BIG_ID, "complaint", "confirm", T0 + timedelta(minutes=1), got.data)
        )
        await u.commit()
    async with uow() as u:
        overwritten = await u.conversations.get(BIG_ID)
        assert overwritten is not None
        assert overwritten.step == "confirm"
        assert overwritten.data == {**data, "confirmed": True}
        await u.conversations.clear(BIG_ID)
        await u.conversations.clear(BIG_ID + 1)  # nothing there: no error
        await u.commit()
    async with uow() as u:
        assert await u.conversations.get(BIG_ID) is None


# --- support requests ------------------------------------------------------------------------


async def test_support_requests(uow: SqlUnitOfWorkFactory) -> None:
    alice = await add_customer(uow, 1)
    bob = await add_customer(uow, 2)
    assert alice.id is not None and bob.id is not None

    def request(customer: Customer, minutes: int, **overrides: Any) -> SupportRequest:
        assert customer.id is not None
        values: dict[str, Any] = {
            "customer_id": customer.id,
            "chat_id": customer.chat_id,
            "text": f"help {minutes}",
            "reason": RequestReason.FAQ_MISS,
            "created_at": T0 + timedelta(minutes=minutes),
            "due_at": T0 + timedelta(minutes=minutes, hours=2),
        }
        values.update(overrides)
        return SupportRequest(**values)

    async with uow() as u:
        later = await u.requests.add(request(alice, 5, reason=RequestReason.ASKED_FOR_PERSON))
        earlier = await u.requests.add(request(alice, 1))
        await u.requests.add(request(alice, 3, status=RequestStatus.CLOSED))
        await u.requests.add(request(bob, 2))
        await u.commit()
    assert later.id is not None and earlier.id is not None

    async with uow() as u:
        open_requests = await u.requests.open_for_customer(alice.id)
        assert await u.requests.open_for_customer(12345) == []
    assert open_requests == [earlier, later]
    assert open_requests[1].reason is RequestReason.ASKED_FOR_PERSON
    assert open_requests[0].status is RequestStatus.OPEN
    assert open_requests[0].due_at == T0 + timedelta(minutes=1, hours=2)
    assert open_requests[0].due_at.tzinfo is UTC


async def test_support_request_needs_a_known_customer(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        with pytest.raises(IntegrityError):
            await u.requests.add(
                SupportRequest(12345, BIG_ID, "?", RequestReason.FAQ_MISS, T0, T0)
            )


# --- the unit of work ------------------------------------------------------------------------


async def test_unit_of_work_without_commit_leaves_nothing(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as u:
        await u.customers.add(a_customer())
        await u.messages.add(inbound(1))
        await u.conversations.save(Conversation(BIG_ID, "f", "s", T0))
    with pytest.raises(RuntimeError, match="boom"):
        async with uow() as u:
            await u.customers.add(a_customer(2))
            raise RuntimeError("boom")
    async with uow() as u:
        await u.customers.add(a_customer(3))
        await u.rollback()
        await u.commit()  # nothing left to commit
    async with uow() as u:
        assert await u.customers.get_by_telegram_id(BIG_ID + 1) is None
        assert await u.customers.get_by_telegram_id(BIG_ID + 2) is None
        assert await u.customers.get_by_telegram_id(BIG_ID + 3) is None
        assert not await u.messages.has_update(1)
        assert await u.conversations.get(BIG_ID) is None


async def test_unit_of_work_is_used_inside_async_with(uow: SqlUnitOfWorkFactory) -> None:
    unit = uow()
    assert isinstance(unit, SqlUnitOfWork)
    with pytest.raises(RuntimeError):
        await unit.commit()
    async with unit:
        pass
    with pytest.raises(RuntimeError):
        await unit.__aenter__()


async def test_parallel_units_of_work_do_not_deadlock(uow: SqlUnitOfWorkFactory) -> None:
    """Each task reads, yields to the others mid-transaction, then writes and commits: with
    WAL and ``BEGIN IMMEDIATE`` they queue on the write lock instead of failing."""

    async def handle(update_id: int) -> None:
        async with uow() as u:
            assert not await u.messages.has_update(update_id)
            await asyncio.sleep(0.01)
            await u.messages.add(inbound(update_id, chat_id=BIG_ID + update_id % 2))
            await asyncio.sleep(0.01)
            await u.commit()

    await asyncio.wait_for(asyncio.gather(*(handle(i) for i in range(1, 11))), timeout=20)

    async with uow() as u:
        stored = await u.messages.for_chat(BIG_ID) + await u.messages.for_chat(BIG_ID + 1)
    assert sorted(m.update_id or 0 for m in stored) == list(range(1, 11))


@SQLITE_ONLY  # PostgreSQL's readers see the last committed snapshot instead of waiting
async def test_reader_and_writer_at_once(engine: AsyncEngine, uow: SqlUnitOfWorkFactory) -> None:
    """Two units of work open at the same time on one file: the second waits for the first
    to commit (busy_timeout), then sees its data."""
    writer_done = asyncio.Event()

    async def writer() -> None:
        async with uow() as u:
            await u.customers.add(a_customer())
            await asyncio.sleep(0.05)
            await u.commit()
            writer_done.set()

    async def reader() -> Customer | None:
        await asyncio.sleep(0.01)  # start while the writer holds its transaction
        async with uow() as u:
            return await u.customers.get_by_telegram_id(BIG_ID + 1)

    _, seen = await asyncio.wait_for(asyncio.gather(writer(), reader()), timeout=20)
    assert writer_done.is_set()
    assert seen is not None


def test_the_migrations_have_a_single_head() -> None:
    """Features may branch while being built, but main keeps one head (merge revisions), so
    `alembic upgrade head` and autogenerate work for operators."""
    heads = ScriptDirectory.from_config(
        alembic_config("sqlite+aiosqlite:///unused.db")
    ).get_heads()
    assert len(heads) == 1, f"several alembic heads: {heads}; add a merge revision"
