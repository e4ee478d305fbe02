"""Importing the shop's customers and orders, in batches, idempotently (issue #5).

A file is imported in two streamed passes (:func:`import_customers_file`,
:func:`import_orders_file`, what ``rapport import`` runs): the validation pass
(:mod:`storage.import_check`) reads the whole file and judges every row, writing nothing, so a
file that cannot be read (another encoding, broken quoting) leaves the database untouched; then
the rows it accepted are re-read and written one batch at a time, each batch in its own
transaction, so memory does not grow with the file. Every bad row is reported with its line and
reason and nothing of it is written. The report counts only batches whose transaction
committed; if writing fails part-way, :class:`ImportInterrupted` carries that report, and
running the import again is safe.

Idempotent: customers and orders are matched by the shop's keys (``customer_ref``,
``order_id``); a row equal to what is stored changes nothing (contact data is compared after
decryption, so an unchanged phone is not even re-encrypted); a changed order (say, paid →
refunded) is updated and its effect on the RFM buckets reversed and re-applied. Empty optional
cells of a customer row keep what is stored.

Orders keep the RFM aggregates current as they arrive (contract in :mod:`bot.core.tiers`,
bookkeeping in :mod:`storage.rfm_totals`): a new paid order adds to its customer's day bucket
and running totals, an order that stops counting (refunded, cancelled) subtracts from both.

Everything is SQLAlchemy Core with ``INSERT … ON CONFLICT`` (SQLite ≥ 3.24 and PostgreSQL).
The statements of the order import's hot path run as driver-level ``executemany`` of prepared
tuples (:class:`storage.bulk.BulkDriver`), which keeps a million-row import in budget.

Where the parts live: reading and validating files, :mod:`storage.import_files` (re-exported
here, so an import is "read rows, import them" from one module); the driver-level bulk writes,
:mod:`storage.bulk`; the RFM buckets and running totals, :mod:`storage.rfm_totals`; this module
writes customers and orders.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, type_coerce, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.consent import ConsentSource, ConsentState, import_may_set, opted_out
from bot.core.coupons import OrderCoupon
from bot.core.importing import (
    CUSTOMER_COLUMNS,
    CUSTOMER_REQUIRED,
    ORDER_COLUMNS,
    ORDER_REQUIRED,
    CustomerIn,
    OrderIn,
    RowError,
    parse_customer,
    parse_order,
)
from bot.core.models import Reachability
from bot.core.records import CustomerProfile, OrderStatus, PersonalDataError
from bot.core.tiers import TierPolicy, window_start
from storage.bulk import (
    AS_DRIVER,
    BulkDriver,
    BulkStatement,
    binds,
    chunks,
    dialect_insert,
    key_in,
)
from storage.coupons import redeem_order_coupons
from storage.crypto import PersonalDataCipher
from storage.customers import NO_KEY, profile_from_row, profile_values
from storage.import_check import (
    Checked,
    FileChangedError,
    accepted_rows,
    check_rows,
    fingerprint,
)
from storage.import_files import (
    FileFormatError,
    ImportReport,
    Progress,
    batches,
    count_rows,
    read_rows,
)
from storage.import_pipeline import write_batches
from storage.rfm_totals import add_delta, apply_deltas, window_through
from storage.tables import metadata

__all__ = [
    "FileFormatError",
    "ImportInterrupted",
    "ImportReport",
    "count_rows",
    "import_customers",
    "import_customers_file",
    "import_orders",
    "import_orders_file",
    "read_rows",
    "upsert_orders",
]

CUSTOMERS: Table = metadata.tables["customer"]
PROFILES: Table = metadata.tables["customer_profile"]
ORDERS: Table = metadata.tables["customer_order"]
CONSENT_LOG: Table = metadata.tables["marketing_consent_log"]


# --------------------------------------------------------------------------------------------
# Customers (shared by both imports)
# --------------------------------------------------------------------------------------------


async def _customer_ids(
    conn: AsyncConnection, refs: Iterable[str], now: datetime, report: ImportReport
) -> tuple[dict[str, int], set[str]]:
    """Ids of the customers with `refs`, creating those that do not exist yet (also
    returned, as the set of created refs)."""
    wanted = sorted(set(refs))
    ids = await _ids_of_refs(conn, wanted)
    missing = [ref for ref in wanted if ref not in ids]
    if missing:
        await conn.execute(
            insert(CUSTOMERS),
            [
                {
                    "customer_ref": ref,
                    "telegram_user_id": None,
                    "chat_id": None,
                    "display_name": "",
                    "first_name": "",
                    "reachability": Reachability.REACHABLE.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for ref in missing
            ],
        )
        report.customers_created += len(missing)
        ids.update(await _ids_of_refs(conn, missing))
    return ids, set(missing)


async def _ids_of_refs(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for where in key_in(conn.dialect.name, CUSTOMERS.c.customer_ref, refs):
        stmt = select(CUSTOMERS.c.customer_ref, CUSTOMERS.c.id).where(where)
        ids.update({ref: cid for ref, cid in (await conn.execute(stmt)).all()})
    return ids


async def import_customers(
    engine: AsyncEngine,
    rows: Iterable[tuple[int, Mapping[str, Any] | RowError]],
    *,
    cipher: PersonalDataCipher | None,
    locales: Sequence[str],
    now: datetime,
    phone_country_code: str = "",
    batch_size: int = 10_000,
    progress: Progress | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Writes customer rows in batched transactions (the write pass: give it checked rows, see
    :func:`import_customers_file`); counts go into `report` as each batch commits. Raises
    :class:`bot.core.records.PersonalDataError` without a cipher when a row has contact data."""
    report = report if report is not None else ImportReport()

    def parse(row: Mapping[str, Any]) -> CustomerIn:
        return parse_customer(row, locales, phone_country_code, today=now.astimezone(UTC).date())

    for batch in batches(rows, parse, batch_size, report):
        done = ImportReport()
        latest = {c.customer_ref: c for _, c in batch}  # a later row for a ref wins
        done.unchanged += len(batch) - len(latest)
        if cipher is None and any(c.phone or c.email or c.birthday for c in latest.values()):
            raise PersonalDataError(NO_KEY)
        async with engine.begin() as conn:
            ids, created = await _customer_ids(conn, latest, now, done)
            stored = await _stored_customers(conn, list(ids.values()), cipher)
            asked = [ids[ref] for ref, c in latest.items() if c.marketing_consent]
            last_sources = await _last_consent_sources(conn, asked)
            changed_customers: list[dict[str, Any]] = []
            profiles: list[dict[str, Any]] = []
            consent_log: list[dict[str, Any]] = []
            for ref, incoming in latest.items():
                cid = ids[ref]
                customer_row, profile = stored[cid]
                changes = _customer_changes(customer_row, incoming)
                consent = _consent_to_record(profile, last_sources.get(cid), incoming, done)
                if consent is not None:
                    consent_log.append(
                        {
                            "customer_id": cid,
                            "consent": consent,
                            "source": ConsentSource.IMPORT.value,
                            "at": now,
                        }
                    )
                merged = _merged_profile(cid, profile, incoming, consent, now)
                if changes:
                    changed_customers.append({"b_id": cid, **changes, "updated_at": now})
                if merged is not None:
                    profiles.append(profile_values(merged, cipher))
                if ref in created:
                    done.created += 1
                elif changes or merged is not None:
                    done.updated += 1
                else:
                    done.unchanged += 1
            if changed_customers:
                keys = sorted({k for change in changed_customers for k in change} - {"b_id"})
                for change in changed_customers:  # executemany needs the same keys in every row
                    for key in keys:
                        change.setdefault(key, stored[change["b_id"]][0][key])
                stmt = (
                    update(CUSTOMERS)
                    .where(CUSTOMERS.c.id == bindparam("b_id"))
                    .values({k: bindparam(k) for k in keys})
                )
                await conn.execute(stmt, changed_customers)
            if profiles:
                upsert = dialect_insert(conn.dialect.name, PROFILES)
                columns = {k: upsert.excluded[k] for k in profiles[0] if k != "customer_id"}
                await conn.execute(
                    upsert.on_conflict_do_update(index_elements=["customer_id"], set_=columns),
                    profiles,
                )
            if consent_log:
                await conn.execute(insert(CONSENT_LOG), consent_log)
        report.add(done)
        report.customers_created = report.created
        if progress:
            progress(len(batch))
    return report


async def _stored_customers(
    conn: AsyncConnection, ids: list[int], cipher: PersonalDataCipher | None
) -> dict[int, tuple[dict[str, Any], CustomerProfile | None]]:
    out: dict[int, tuple[dict[str, Any], CustomerProfile | None]] = {}
    for chunk in chunks(ids):
        stmt = select(
            CUSTOMERS.c.id,
            CUSTOMERS.c.display_name,
            CUSTOMERS.c.first_name,
            CUSTOMERS.c.language,
            CUSTOMERS.c.timezone,
            CUSTOMERS.c.created_at,
            CUSTOMERS.c.updated_at,
        ).where(CUSTOMERS.c.id.in_(chunk))
        for row in (await conn.execute(stmt)).mappings():
            out[row["id"]] = (dict(row), None)
        stmt2 = select(PROFILES).where(PROFILES.c.customer_id.in_(chunk))
        for prow in (await conn.execute(stmt2)).all():
            customer, _ = out[prow.customer_id]
            out[prow.customer_id] = (customer, profile_from_row(prow, cipher))  # type: ignore[arg-type]
    return out


def _customer_changes(stored: Mapping[str, Any], incoming: CustomerIn) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if incoming.name is not None:
        first = incoming.name.split()[0] if incoming.name.split() else incoming.name
        if stored["display_name"] != incoming.name:
            changes["display_name"] = incoming.name
        if stored["first_name"] != first:
            changes["first_name"] = first
    if incoming.language is not None and stored["language"] != incoming.language:
        changes["language"] = incoming.language
    if incoming.timezone is not None and stored["timezone"] != incoming.timezone:
        changes["timezone"] = incoming.timezone
    return changes


async def _last_consent_sources(conn: AsyncConnection, ids: list[int]) -> dict[int, ConsentSource]:
    """For each of `ids` with a consent log, the source of its latest entry."""
    out: dict[int, ConsentSource] = {}
    for chunk in chunks(ids):
        stmt = (
            select(CONSENT_LOG.c.customer_id, CONSENT_LOG.c.source)
            .where(CONSENT_LOG.c.customer_id.in_(chunk))
            .order_by(CONSENT_LOG.c.at, CONSENT_LOG.c.id)
        )
        for customer_id, source in (await conn.execute(stmt)).all():
            out[customer_id] = ConsentSource(source)  # later rows overwrite earlier ones
    return out


def _consent_to_record(
    stored: CustomerProfile | None,
    last_source: ConsentSource | None,
    incoming: CustomerIn,
    report: ImportReport,
) -> bool | None:
    """The consent the row changes the customer's to (None: no change), by
    :func:`bot.core.consent.import_may_set`; a "yes" that meets the customer's own "no" from
    the chat is counted in ``report.consent["opt_out_kept"]``."""
    wanted = incoming.marketing_consent
    if wanted is None:
        return None
    state = ConsentState()
    if stored is not None:
        state = ConsentState(stored.marketing_consent, stored.marketing_consent_at)
    if import_may_set(state, last_source, wanted):
        report.consent["given" if wanted else "withdrawn"] += 1
        return wanted
    if wanted and opted_out(state):
        report.consent["opt_out_kept"] += 1
    return None


def _merged_profile(
    customer_id: int,
    stored: CustomerProfile | None,
    incoming: CustomerIn,
    consent: bool | None = None,
    now: datetime | None = None,
) -> CustomerProfile | None:
    """The profile to write, or None when the stored one already says it all. `consent`, when
    not None, is the new consent, given or withdrawn at `now`."""
    base = stored or CustomerProfile(customer_id=customer_id)
    merged = CustomerProfile(
        customer_id=customer_id,
        phone=incoming.phone or base.phone,
        email=incoming.email or base.email,
        birthday=incoming.birthday or base.birthday,
        tags=incoming.tags or base.tags,
        marketing_consent=base.marketing_consent if consent is None else consent,
        marketing_consent_at=base.marketing_consent_at if consent is None else now,
    )
    if stored is not None and merged == stored:
        return None
    if stored is None and merged == CustomerProfile(customer_id=customer_id):
        return None
    return merged


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------

#: The stored columns of an order besides ``order_id``, in the order the hot statements use.
_ORDER_FIELDS = (
    "customer_id",
    "amount_cents",
    "currency",
    "status",
    "created_at",
    "paid_at",
    "delivered_at",
    "coupon_code",
)
_COUNTS = frozenset(s.value for s in OrderStatus if s.counts_as_paid)


#: The page cache of a SQLite import's connection, in MiB (``RAPPORT_IMPORT_SQLITE_CACHE_MIB``).
SQLITE_CACHE_MIB = 64
_CACHE_BEFORE = "rapport_import_cache_before"


class _ImportCache:
    """``PRAGMA cache_size`` of the SQLite connections an import writes through: `mib` while
    it runs, then what each had before. SQLite's default (2 MiB) holds a small part of the
    order indexes once there are a few hundred thousand orders, and every insert into them
    then reads pages back from the OS: at 1,000,000 orders SQLite's own CPU time drops by a
    quarter with 64 MiB (``docs/performance.md``). Memory only, per connection: durability
    and erasure (``secure_delete``) are untouched. PostgreSQL: nothing to do."""

    def __init__(self, mib: int) -> None:
        self.kib = int(mib) * 1024
        self.grown = False

    async def grow(self, conn: AsyncConnection) -> None:
        if conn.dialect.name != "sqlite" or _CACHE_BEFORE in conn.info:
            return
        before = (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        conn.info[_CACHE_BEFORE] = int(before)
        await conn.exec_driver_sql(f"PRAGMA cache_size=-{self.kib}")
        self.grown = True

    async def restore(self, engine: AsyncEngine) -> None:
        """Back to the pooled connection's own cache size (in practice the one connection the
        import used; another keeps the import's cache until the pool closes it)."""
        if not self.grown:
            return
        async with engine.connect() as conn:
            before = conn.info.pop(_CACHE_BEFORE, None)
            if before is not None:
                await conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
            await conn.rollback()


async def import_orders(
    engine: AsyncEngine,
    rows: Iterable[tuple[int, Mapping[str, Any] | RowError]],
    *,
    shop_currency: str,
    now: datetime,
    policy: TierPolicy | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    report: ImportReport | None = None,
    overlap: bool = True,
    sqlite_cache_mib: int = SQLITE_CACHE_MIB,
) -> ImportReport:
    """Writes order rows in batched transactions and keeps the RFM buckets and running totals
    current (the write pass: give it checked rows, see :func:`import_orders_file`); counts go
    into `report` as each batch commits. The next batch is parsed while one is written
    (:func:`storage.import_pipeline.write_batches`, same results and failure behaviour);
    ``overlap=False`` does one after the other. On SQLite the import's connection gets a page
    cache of `sqlite_cache_mib` for the import (:class:`_ImportCache`).

    The hot statements (reading the stored orders, inserting and updating orders, the bucket
    and running-total upserts) run as driver-level ``executemany`` of prepared tuples
    (:class:`BulkDriver`): an unchanged order is recognised by comparing its tuple with the stored
    one, and no value passes through SQLAlchemy's per-value type processing.

    A new or changed order that carries a coupon code redeems it in the same transaction
    (:func:`storage.coupons.redeem_order_coupons`); ``report.coupons`` counts the outcomes. A
    code that is not redeemed (another customer's, expired, used) never stops the order."""
    report = report if report is not None else ImportReport()

    def parse(row: Mapping[str, Any]) -> OrderIn:
        return parse_order(row, shop_currency, now=now)

    async def write(batch: list[tuple[int, OrderIn]]) -> None:
        done = ImportReport()
        latest = {o.order_id: o for _, o in batch}
        done.unchanged += len(batch) - len(latest)
        async with engine.begin() as conn:
            await cache.grow(conn)
            await upsert_orders(conn, latest, now=now, policy=policy, report=done)
        report.add(done)
        if progress:
            progress(len(batch))

    cache = _ImportCache(sqlite_cache_mib)
    try:
        await write_batches(rows, parse, batch_size, report, write, overlap=overlap)
    except BaseException:
        with contextlib.suppress(SQLAlchemyError):  # the import's own error is the one to tell
            await cache.restore(engine)
        raise
    await cache.restore(engine)
    return report


async def upsert_orders(
    conn: AsyncConnection,
    latest: Mapping[str, OrderIn],
    *,
    now: datetime,
    policy: TierPolicy | None,
    report: ImportReport,
) -> None:
    """Writes `latest` (order_id → the order's full state) in the caller's transaction: new
    orders are inserted, changed ones updated, equal ones left alone (counted in `report`);
    the coupons that new or changed orders carry are redeemed
    (:func:`storage.coupons.redeem_order_coupons`), and the RFM buckets and running totals
    follow. The one write path of orders, shared by the file import and the order events
    endpoint (:mod:`storage.order_events`), so both leave the same buckets (and redemptions)
    for the same final state."""
    driver = BulkDriver.of(conn)
    stored_time = driver.time
    refs = (o.customer_ref for o in latest.values())
    ids, _created = await _customer_ids(conn, refs, now, report)
    stored = await _stored_orders(conn, list(latest))
    new: list[tuple[Any, ...]] = []
    changed: list[tuple[Any, ...]] = []
    with_codes: list[OrderCoupon] = []
    deltas: dict[tuple[int, date], list[int]] = {}
    for order_id, o in latest.items():
        status = o.status.value
        values = (
            ids[o.customer_ref],
            o.amount_cents,
            o.currency,
            status,
            stored_time(o.created_at),
            stored_time(o.paid_at),
            stored_time(o.delivered_at),
            o.coupon_code,
        )
        old = stored.get(order_id)
        if old == values:
            report.unchanged += 1
            continue
        if old is None:
            new.append((order_id, *values))
            report.created += 1
        else:
            changed.append((*values, order_id))
            report.updated += 1
            if old[3] in _COUNTS:
                old_day = driver.day_of(old[5] if old[5] is not None else old[4])
                add_delta(deltas, (old[0], old_day), -1, -old[1])
        if status in _COUNTS:
            new_day = (o.paid_at or o.created_at).astimezone(UTC).date()
            add_delta(deltas, (values[0], new_day), 1, o.amount_cents)
        if o.coupon_code:
            with_codes.append(order_coupon(o, values[0]))
    if new:
        await driver.executemany(conn, _INSERT_ORDER, new)
    if changed:
        await driver.executemany(conn, _UPDATE_ORDER, changed)
    if with_codes:
        outcomes = await redeem_order_coupons(conn, with_codes, now)
        report.coupons.update({k.value: n for k, n in outcomes.items()})
    if deltas:
        through = await window_through(conn, now.astimezone(UTC).date())
        await apply_deltas(conn, deltas, window_start(through, policy or TierPolicy()))


def order_coupon(order: OrderIn, customer_id: int) -> OrderCoupon:
    """What the redemption needs of an order that carries a code."""
    assert order.coupon_code is not None
    return OrderCoupon(
        order_id=order.order_id,
        customer_id=customer_id,
        code=order.coupon_code,
        created_at=order.created_at,
        amount_cents=order.amount_cents,
        currency=order.currency,
        status=order.status,
    )


async def _stored_orders(
    conn: AsyncConnection, order_ids: list[str]
) -> dict[str, tuple[Any, ...]]:
    """The stored orders among `order_ids`: order_id → the tuple of :data:`_ORDER_FIELDS`,
    values as the driver returns them (comparable with the tuples :class:`BulkDriver` writes)."""
    out: dict[str, tuple[Any, ...]] = {}
    columns = [type_coerce(ORDERS.c[k], AS_DRIVER) for k in _ORDER_FIELDS]
    for where in key_in(conn.dialect.name, ORDERS.c.order_id, order_ids):
        stmt = select(ORDERS.c.order_id, *columns).where(where)
        for row in (await conn.execute(stmt)).all():
            out[row[0]] = tuple(row[1:])
    return out


_INSERT_ORDER = BulkStatement.insert_into(ORDERS, ("order_id", *_ORDER_FIELDS))
_UPDATE_ORDER = BulkStatement(
    lambda dialect: (
        update(ORDERS)
        .where(ORDERS.c.order_id == bindparam("p_order_id"))
        .values(binds(_ORDER_FIELDS))
    ),
    (*_ORDER_FIELDS, "order_id"),
)


# --------------------------------------------------------------------------------------------
# Whole files: validate, then write
# --------------------------------------------------------------------------------------------


class ImportInterrupted(Exception):
    """Writing failed part-way (the database, the disk, the file changed). `report` counts
    exactly the rows of the transactions that committed before; `reason` says what failed,
    without any row's data."""

    def __init__(self, report: ImportReport, reason: str) -> None:
        super().__init__(reason)
        self.report = report
        self.reason = reason


def _reason(exc: Exception) -> str:
    """What went wrong, never the statement's parameters (they may be personal data)."""
    if isinstance(exc, FileFormatError):
        return str(exc)
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"the database refused a write ({type(exc.orig).__name__}: {exc.orig.args[0]})"
    return f"the database refused a write ({type(exc).__name__})"


Rows = Iterable[tuple[int, Mapping[str, Any] | RowError]]


async def import_customers_file(
    engine: AsyncEngine,
    path: Path,
    *,
    cipher: PersonalDataCipher | None,
    locales: Sequence[str],
    now: datetime,
    phone_country_code: str = "",
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> ImportReport:
    """Validates the whole customer file, then writes the rows it accepted.

    Raises :class:`FileFormatError` (the file cannot be read; nothing was written),
    :class:`~bot.core.records.PersonalDataError` (contact data but no cipher; nothing was
    written) or :class:`ImportInterrupted` (writing failed part-way)."""
    today = now.astimezone(UTC).date()

    def needs_no_key(customer: CustomerIn) -> None:
        if cipher is None and (customer.phone or customer.email or customer.birthday):
            raise PersonalDataError(NO_KEY)

    async def write(rows: Rows, report: ImportReport) -> None:
        await import_customers(
            engine,
            rows,
            cipher=cipher,
            locales=locales,
            now=now,
            phone_country_code=phone_country_code,
            batch_size=batch_size,
            progress=progress,
            report=report,
        )

    def read() -> Rows:
        return read_rows(path, CUSTOMER_COLUMNS, CUSTOMER_REQUIRED)

    stamp = fingerprint(path)
    checked = check_rows(
        read(),
        lambda row: parse_customer(row, locales, phone_country_code, today=today),
        lambda c: c.customer_ref,
        "customer_ref",
        inspect=needs_no_key,
        progress=progress,
    )
    return await _write_checked(path, stamp, checked, read, write)


async def import_orders_file(
    engine: AsyncEngine,
    path: Path,
    *,
    shop_currency: str,
    now: datetime,
    policy: TierPolicy | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    sqlite_cache_mib: int = SQLITE_CACHE_MIB,
) -> ImportReport:
    """Validates the whole order file, then writes the rows it accepted (and the customers
    their references name, when new). Raises :class:`FileFormatError` (the file cannot be
    read; nothing was written) or :class:`ImportInterrupted` (writing failed part-way)."""

    async def write(rows: Rows, report: ImportReport) -> None:
        await import_orders(
            engine,
            rows,
            shop_currency=shop_currency,
            now=now,
            policy=policy,
            batch_size=batch_size,
            progress=progress,
            report=report,
            sqlite_cache_mib=sqlite_cache_mib,
        )

    def read() -> Rows:
        return read_rows(path, ORDER_COLUMNS, ORDER_REQUIRED)

    stamp = fingerprint(path)
    checked = check_rows(
        read(),
        lambda row: parse_order(row, shop_currency, now=now),
        lambda o: o.order_id,
        "order_id",
        progress=progress,
    )
    return await _write_checked(path, stamp, checked, read, write)


async def _write_checked(
    path: Path,
    stamp: tuple[int, int],
    checked: Checked[Any],
    read: Callable[[], Rows],
    write: Callable[[Rows, ImportReport], Awaitable[None]],
) -> ImportReport:
    """The write pass: re-reads `path` and writes the rows `checked` accepted. The report
    counts only committed batches, also when writing stops part-way (:class:`ImportInterrupted`)
    or the write pass does not see the rows the validation pass accepted."""
    report = ImportReport(rows=checked.rows, rejected=checked.rejected)
    written = ImportReport()
    try:
        await write(accepted_rows(read(), checked, path, stamp), written)
    except (SQLAlchemyError, OSError, FileFormatError) as exc:
        report.add(written)
        raise ImportInterrupted(report, _reason(exc)) from exc
    report.add(written)
    if written.rejected or written.rows != checked.accepted:
        changed = FileChangedError(f"{path}: the file changed while it was being imported")
        raise ImportInterrupted(report, str(changed))
    return report
