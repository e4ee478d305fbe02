"""Customer records, order import and tiers against a real SQLite file (issue #5)."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.order_aggregates import aggregate_order_arrays
from bot.app.settings import LOCALES
from bot.core.importing import CUSTOMER_COLUMNS, ORDER_COLUMNS
from bot.core.models import Customer, Direction, LoggedMessage
from bot.core.records import OrderStatus, PersonalDataError, normalise_phone
from bot.core.tiers import TIERS_BY_CODE, Tier, TierPolicy, assign_tiers_arrays
from storage.crypto import PersonalDataCipher, new_key
from storage.customers_import import ImportReport, import_customers, import_orders, read_rows
from storage.engine import is_sqlite, make_engine
from storage.migrate import upgrade
from storage.tables import metadata
from storage.tiers_recompute import distribution, recompute_tiers
from storage.uow import SqlUnitOfWorkFactory
from tests.postgres_server import SQLITE_ONLY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
AS_OF = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
REQUIRED_ORDER = ("order_id", "customer_ref", "amount", "status", "created_at")


@dataclass
class Db:
    path: Path
    """The SQLite file (``Path()`` on PostgreSQL)."""
    engine: AsyncEngine
    cipher: PersonalDataCipher
    uow: SqlUnitOfWorkFactory


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Db]:
    url = database_url
    path = Path(make_url(url).database or "") if is_sqlite(url) else Path()
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    cipher = PersonalDataCipher(new_key())
    try:
        yield Db(path, engine, cipher, SqlUnitOfWorkFactory.from_engine(engine, cipher))
    finally:
        await engine.dispose()


async def load_customers(db: Db, path: Path = EXAMPLES / "customers.csv") -> ImportReport:
    return await import_customers(
        db.engine,
        read_rows(path, CUSTOMER_COLUMNS, ("customer_ref",)),
        cipher=db.cipher,
        locales=LOCALES,
        now=NOW,
        batch_size=128,
    )


async def load_orders(db: Db, path: Path = EXAMPLES / "orders.csv") -> ImportReport:
    return await import_orders(
        db.engine,
        read_rows(path, ORDER_COLUMNS, REQUIRED_ORDER),
        shop_currency="CNY",
        now=NOW,
        batch_size=700,
    )


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in metadata.tables.items()
        }


async def test_examples_import_idempotently_and_report_bad_rows(db: Db) -> None:
    customers = await load_customers(db)
    orders = await load_orders(db)
    assert (customers.created, customers.updated, len(customers.rejected)) == (300, 0, 5)
    assert [line for line, _ in customers.rejected] == [42, 92, 152, 202, 252]
    assert "e-mail" in customers.rejected[0][1]
    assert orders.created == 3832 and orders.customers_created == 1
    assert [line for line, _ in orders.rejected] == [152, 552, 952, 1352, 1752]
    assert "status 'shipped'" in orders.rejected[0][1]
    before = await counts(db.engine)
    again_customers = await load_customers(db)
    again_orders = await load_orders(db, EXAMPLES / "orders.jsonl")
    assert (again_customers.created, again_customers.updated, again_customers.unchanged) == (
        0,
        0,
        300,
    )
    assert (again_orders.created, again_orders.updated, again_orders.unchanged) == (0, 0, 3832)
    assert await counts(db.engine) == before
    async with db.uow() as uow:
        unknown = await uow.records.get_by_ref("W00001")
        assert unknown is not None and unknown.telegram_user_id is None


@SQLITE_ONLY
async def test_contact_data_is_only_ciphertext_in_the_database_file(db: Db) -> None:
    await load_customers(db)
    async with db.uow() as uow:
        c1 = await uow.records.get_by_ref("C00001")
        assert c1 is not None and c1.id is not None
        profile = await uow.records.profile(c1.id)
        assert profile is not None and profile.phone == "+447700900001"
        assert profile.email == "customer1@example.net"
        found = await uow.records.find_by_phone("+447700900001")
        assert [c.customer_ref for c in found] == ["C00001"]
    await db.engine.dispose()  # everything on disk (the -wal file may stay)
    raw = db.path.read_bytes()
    wal = db.path.with_name(db.path.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    with (EXAMPLES / "customers.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    secrets = set()
    for row in rows:
        if row["phone"]:
            secrets.add(row["phone"])
            secrets.add(normalise_phone(row["phone"]) or row["phone"])
            secrets.add(row["phone"].replace(" ", "").replace("-", "").lstrip("+0"))
        if row["email"]:
            secrets.add(row["email"])
            secrets.add(row["email"].split("@")[0] + "@")
    assert len(secrets) > 300
    leaked = [s for s in secrets if s.encode() in raw]
    assert leaked == []


async def test_a_wrong_or_missing_key_refuses_personal_data(db: Db) -> None:
    await load_customers(db)
    other = SqlUnitOfWorkFactory.from_engine(db.engine, PersonalDataCipher(new_key()))
    keyless = SqlUnitOfWorkFactory.from_engine(db.engine, None)
    async with other() as uow:
        c = await uow.records.get_by_ref("C00001")
        assert c is not None and c.id is not None
        with pytest.raises(PersonalDataError, match="not the one"):
            await uow.records.profile(c.id)
    async with keyless() as uow:
        with pytest.raises(PersonalDataError, match="RAPPORT_ENCRYPTION_KEY"):
            await uow.records.profile(c.id)
    with pytest.raises(PersonalDataError):
        await import_customers(
            db.engine,
            read_rows(EXAMPLES / "customers.csv", CUSTOMER_COLUMNS, ("customer_ref",)),
            cipher=None,
            locales=LOCALES,
            now=NOW,
        )


def engine_tiers_from_csv(as_of: datetime, policy: TierPolicy) -> dict[str, Tier]:
    """The pure engine straight from the example orders, for comparison with the database."""
    refs: dict[str, int] = {}
    cust, days, amounts = [], [], []
    with (EXAMPLES / "orders.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["status"] not in ("paid", "delivered") or row["currency"] != "CNY":
                continue
            try:
                moment = datetime.fromisoformat(row["paid_at"] or row["created_at"])
                if float(row["amount"]) < 0:
                    continue
            except ValueError:
                continue  # one of the example's malformed rows
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            cust.append(refs.setdefault(row["customer_ref"], len(refs)))
            days.append((moment.astimezone(UTC).date() - date(1970, 1, 1)).days)
            amounts.append(round(float(row["amount"]) * 100))
    as_of_day = (as_of.date() - date(1970, 1, 1)).days
    agg = aggregate_order_arrays(cust, days, amounts, as_of_day, policy)
    result = assign_tiers_arrays(
        agg.customer_ids, agg.recency_days, agg.frequency, agg.monetary, policy
    )
    names = {v: k for k, v in refs.items()}
    return {
        names[int(c)]: TIERS_BY_CODE[t] for c, t in zip(agg.customer_ids, result.tier, strict=True)
    }


async def test_recompute_from_the_database_matches_the_pure_engine(db: Db) -> None:
    await load_customers(db)
    await load_orders(db)
    policy = TierPolicy()
    report = await recompute_tiers(db.engine, AS_OF, policy)
    tiered = report.tiers["high"] + report.tiers["mid"] + report.tiers["base"]
    assert (
        report.tiers["high"],
        report.tiers["mid"],
        report.tiers["base"],
    ) == policy.split_counts(tiered)
    dist = await distribution(db.engine)
    assert dist.tiers == report.tiers
    assert sum(dist.lifecycle.values()) == report.customers == 301
    expected = engine_tiers_from_csv(AS_OF, policy)
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT c.customer_ref, t.tier FROM customer c "
                    "JOIN customer_tier t ON t.customer_id = c.id"
                )
            )
        ).all()
    stored = {ref: Tier(tier) for ref, tier in rows}
    # The engine ranks ties by id; the example's refs and the database's ids are both in
    # first-seen order only by chance, so compare where the engine saw the customer tiered.
    same = sum(stored[ref] == tier for ref, tier in expected.items())
    assert same >= 0.95 * len(expected)
    assert {ref for ref, t in stored.items() if t is not Tier.PROSPECT} == {
        ref for ref, t in expected.items() if t is not Tier.PROSPECT
    }


async def test_rolling_the_window_equals_a_rebuild_and_history_keeps_changes(db: Db) -> None:
    await load_orders(db)
    policy = TierPolicy()
    first = await recompute_tiers(db.engine, datetime(2026, 1, 10, tzinfo=UTC), policy)
    assert first.changes == first.customers
    rolled = await recompute_tiers(db.engine, datetime(2026, 1, 30, tzinfo=UTC), policy)
    assert not rolled.rebuilt and rolled.rolled_days == 20
    async with db.engine.connect() as conn:
        incremental = (await conn.execute(text("SELECT * FROM customer_rfm ORDER BY 1"))).all()
        tiers_a = (await conn.execute(text("SELECT * FROM customer_tier ORDER BY 1"))).all()
    # Force a rebuild of the same date: go back a day, then forward again.
    await recompute_tiers(db.engine, datetime(2026, 1, 29, tzinfo=UTC), policy)
    again = await recompute_tiers(db.engine, datetime(2026, 1, 30, tzinfo=UTC), policy)
    assert again.rolled_days == 1
    async with db.engine.connect() as conn:
        rebuilt = (await conn.execute(text("SELECT * FROM customer_rfm ORDER BY 1"))).all()
        tiers_b = (await conn.execute(text("SELECT * FROM customer_tier ORDER BY 1"))).all()
    assert incremental == rebuilt
    assert tiers_a == tiers_b
    # Each recompute overwrote every standing (in place on PostgreSQL), none left from before.
    assert {str(row[1]) for row in tiers_a} == {"2026-01-30"}
    async with db.uow() as uow:
        customer = await uow.records.get_by_ref("C00003")
        assert customer is not None and customer.id is not None
        history = await uow.tiers.history(customer.id)
        assert history[0].old_tier is None
        assert all(h.old_tier != h.new_tier for h in history)
        assert await uow.tiers.tier_of(customer.id) == history[-1].new_tier


async def test_a_refund_takes_the_order_out_of_the_aggregates(db: Db, tmp_path: Path) -> None:
    file = tmp_path / "orders.csv"
    header = "order_id,customer_ref,amount,currency,status,created_at,paid_at\n"
    file.write_text(
        header
        + "A1,R1,10.00,CNY,paid,2025-12-01T10:00:00,2025-12-01T10:05:00\n"
        + "A2,R1,20.00,CNY,paid,2025-12-10T10:00:00Z,2025-12-10T10:05:00Z\n"
    )
    await load_orders(db, file)
    file.write_text(
        header
        + "A1,R1,10.00,CNY,paid,2025-12-01T10:00:00,2025-12-01T10:05:00\n"
        + "A2,R1,20.00,CNY,refunded,2025-12-10T10:00:00Z,2025-12-10T10:05:00Z\n"
    )
    report = await load_orders(db, file)
    assert (report.updated, report.unchanged) == (1, 1)
    async with db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM customer_rfm"))).one()
        buckets = (await conn.execute(text("SELECT count(*) FROM customer_paid_day"))).scalar()
    assert (str(row.first_paid_day), str(row.last_paid_day)) == ("2025-12-01", "2025-12-01")
    assert (row.window_orders, row.window_amount_cents, buckets) == (1, 1000, 1)
    assert OrderStatus.REFUNDED.counts_as_paid is False


async def test_export_and_forget(db: Db) -> None:
    await load_customers(db)
    await load_orders(db)
    await recompute_tiers(db.engine, AS_OF, TierPolicy())
    async with db.uow() as uow:
        c = await uow.records.get_by_ref("C00001")
        assert c is not None and c.id is not None
        c.telegram_user_id, c.chat_id = 777, 777
        await uow.customers.update(c)
        await uow.messages.add(
            LoggedMessage(
                Direction.IN, 777, NOW, text="my address is 1 Tea Street", customer_id=c.id
            )
        )
        await uow.commit()
    async with db.uow() as uow:
        held = await uow.records.export(c.id)
    assert held.profile is not None and held.profile["phone"] == "+447700900001"
    assert held.orders and held.standing is not None
    assert held.messages[0]["text"] == "my address is 1 Tea Street"
    async with db.uow() as uow:
        await uow.records.forget(c.id)
        await uow.commit()
    async with db.uow() as uow:
        gone: Customer | None = await uow.customers.get(c.id)
        assert gone is not None and gone.customer_ref is None and gone.telegram_user_id is None
        assert await uow.records.profile(c.id) is None
        held = await uow.records.export(c.id)
    assert held.messages[0]["text"] is None and len(held.messages) == 1
    assert held.orders  # anonymous counts stay
    assert all(isinstance(o["amount_cents"], int) for o in held.orders)


async def test_bulk_written_orders_match_what_sqlalchemy_writes(db: Db, tmp_path: Path) -> None:
    """The import writes and compares driver-level values; they must be exactly what the
    typed SQLAlchemy columns write and read, or a re-import would see changes."""
    orders = metadata.tables["customer_order"]
    file = tmp_path / "orders.csv"
    header = "order_id,customer_ref,amount,currency,status,created_at,paid_at,delivered_at\n"
    first = "A1,R1,10.00,CNY,delivered,2025-12-01T10:00:00.5+08:00,2025-12-01 03:00:00Z,\n"
    file.write_text(header + first)
    await load_orders(db, file)
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(orders))).one()
    assert row.created_at == datetime(2025, 12, 1, 2, 0, 0, 500_000, tzinfo=UTC)
    assert row.paid_at == datetime(2025, 12, 1, 3, tzinfo=UTC) and row.delivered_at is None
    async with db.engine.begin() as conn:  # as the ORM would write it
        await conn.execute(
            orders.insert().values(
                order_id="B1",
                customer_id=row.customer_id,
                amount_cents=2000,
                currency="CNY",
                status="pending",
                created_at=datetime(2025, 12, 2, 9, 30, tzinfo=UTC),
            )
        )
    file.write_text(header + first + "B1,R1,20,CNY,pending,2025-12-02T17:30:00+08:00,,\n")
    report = await load_orders(db, file)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    async with db.engine.connect() as conn:
        totals = (await conn.execute(text("SELECT * FROM customer_rfm"))).one()
    assert (totals.window_orders, totals.window_amount_cents) == (1, 1000)


async def test_a_bad_row_is_reported_and_skipped_whole(db: Db, tmp_path: Path) -> None:
    file = tmp_path / "orders.csv"
    file.write_text(
        "order_id,customer_ref,amount,currency,status,created_at,paid_at\n"
        "A1,R1,10.00,CNY,paid,2025-12-01T10:00:00,2025-12-01T10:05:00\n"
        "\n"
        "A2,R2,5.00,CNY,paid,2025-12-01T10:00:00,01/12/2025\n"
        "A3,R3,5.001,CNY,paid,2025-12-01T10:00:00,2025-12-01T10:05:00\n"
        "A4,R4,5.00,CNY,paid,2025-12-01T10:00:00\n"
        "A5,R5,5.00,CNY,paid,2025-12-01T10:00:00,2025-12-01T10:05:00,extra\n"
        "A6,R1,7.5,CNY,paid,2025-12-02T10:00:00+01:00,2025-12-02T10:05:00+01:00\n"
    )
    report = await load_orders(db, file)
    assert [line for line, _ in report.rejected] == [4, 5, 6, 7]
    reasons = [reason for _, reason in report.rejected]
    assert "paid_at '01/12/2025' is not an ISO 8601 time" in reasons[0]
    assert "more than two decimals" in reasons[1]
    assert reasons[2] == "status paid needs paid_at"
    assert reasons[3] == "more fields than the header has"
    assert (report.created, report.customers_created) == (2, 1)
    async with db.engine.connect() as conn:
        rfm = (await conn.execute(text("SELECT * FROM customer_rfm"))).one()
        days = (await conn.execute(text("SELECT day FROM customer_paid_day ORDER BY day"))).all()
    assert (rfm.window_orders, rfm.window_amount_cents) == (2, 1750)
    assert [str(d) for (d,) in days] == ["2025-12-01", "2025-12-02"]
