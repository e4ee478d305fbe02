"""Importing the shop's customers and orders, in batches, idempotently (issue #5).

Files are streamed: rows are read, validated (:mod:`bot.core.importing`) and written one batch
at a time, each batch in its own transaction, so memory does not grow with the file and an
interrupted import can simply be run again. A bad row is reported with its line and reason and
nothing of it is written; the rest of its batch goes in.

Idempotent: customers and orders are matched by the shop's keys (``customer_ref``,
``order_id``); a row equal to what is stored changes nothing (contact data is compared after
decryption, so an unchanged phone is not even re-encrypted); a changed order (say, paid →
refunded) is updated and its effect on the RFM buckets reversed and re-applied. Empty optional
cells of a customer row keep what is stored.

Orders keep the RFM aggregates current as they arrive (contract in :mod:`bot.core.tiers`):
per-day buckets ``customer_paid_day`` and running totals ``customer_rfm`` for the window that
ends at the watermark ``rfm_window.window_through``. An order that stops counting (refunded,
cancelled) subtracts from both; if that empties the customer's first or last day, those two
dates are recomputed from that customer's buckets alone.

Everything is SQLAlchemy Core with ``INSERT … ON CONFLICT`` (SQLite ≥ 3.24 and PostgreSQL).
The statements of the order import's hot path are compiled once per dialect by SQLAlchemy and
run as driver-level ``executemany`` of prepared tuples (:class:`BulkDriver`), which keeps a
million-row import in budget: SQLAlchemy's per-value type processing of three timestamps a row
was most of its Python time (figures in ``docs/performance.md``).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import NullType

from bot.core.importing import (
    CustomerIn,
    OrderIn,
    RowError,
    check_header,
    parse_customer,
    parse_order,
)
from bot.core.models import Reachability
from bot.core.records import CustomerProfile, OrderStatus, PersonalDataError
from bot.core.tiers import TierPolicy, window_start
from storage.crypto import PersonalDataCipher
from storage.customers import NO_KEY, profile_from_row, profile_values
from storage.tables import metadata

logger = logging.getLogger(__name__)

CUSTOMERS: Table = metadata.tables["customer"]
PROFILES: Table = metadata.tables["customer_profile"]
ORDERS: Table = metadata.tables["customer_order"]
PAID_DAYS: Table = metadata.tables["customer_paid_day"]
RFM: Table = metadata.tables["customer_rfm"]
WINDOW: Table = metadata.tables["rfm_window"]

#: Keys per ``IN (…)`` list, well under SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 5_000


class FileFormatError(ValueError):
    """The file as a whole cannot be read (unknown extension, bad header)."""


@dataclass
class ImportReport:
    """What an import did. `rejected` holds (line, reason) for every bad row."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


Progress = Callable[[int], None]


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def count_rows(path: Path) -> int:
    """Data lines in the file (for a progress bar): newlines, minus the CSV header."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(0, lines - (0 if path.suffix.lower() == ".jsonl" else 1))


def read_rows(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    """(line number, row or the reason it cannot be read), streamed. CSV (UTF-8, optional BOM)
    by default; JSON Lines for ``.jsonl``. Raises :class:`FileFormatError` for a bad header."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path, known, required)
    elif suffix in (".csv", ".txt", ""):
        yield from _read_csv(path, known, required)
    else:
        raise FileFormatError(f"{path}: unknown file type {suffix!r} (use .csv or .jsonl)")


def _read_csv(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        try:
            check_header(header, known, required)
        except RowError as exc:
            raise FileFormatError(f"{path}:1: {exc}") from None
        assert header is not None
        names = [c.strip() for c in header]
        width = len(names)
        line = reader.line_num
        for fields in reader:  # what csv.DictReader does, without its per-row overhead
            if not fields:
                line = reader.line_num  # a blank line
                continue
            start, line = line + 1, reader.line_num
            if len(fields) == width:
                yield start, dict(zip(names, fields, strict=True))
            elif len(fields) < width:
                yield (
                    start,
                    dict(zip(names, [*fields, *([None] * (width - len(fields)))], strict=True)),
                )
            else:
                yield start, RowError("more fields than the header has")


def _read_jsonl(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, RowError(f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                yield number, RowError("not a JSON object")
                continue
            unknown = [k for k in row if k not in known]
            missing = [k for k in required if k not in row]
            if unknown or missing:
                yield (
                    number,
                    RowError(
                        f"unknown field(s) {', '.join(unknown)}"
                        if unknown
                        else f"missing field(s) {', '.join(missing)}"
                    ),
                )
                continue
            yield number, row


def _batches(
    rows: Iterable[tuple[int, Mapping[str, Any] | RowError]],
    parse: Callable[[Mapping[str, Any]], Any],
    size: int,
    report: ImportReport,
) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for line, row in rows:
        report.rows += 1
        if isinstance(row, RowError):
            report.rejected.append((line, str(row)))
            continue
        try:
            batch.append((line, parse(row)))
        except RowError as exc:
            report.rejected.append((line, str(exc)))
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _upsert(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT that supports ``on_conflict_do_update``."""
    return _dialect_insert(conn.dialect.name, table)


# --------------------------------------------------------------------------------------------
# Customers (shared by both imports)
# --------------------------------------------------------------------------------------------


async def _customer_ids(
    conn: AsyncConnection, refs: Iterable[str], now: datetime, report: ImportReport
) -> tuple[dict[str, int], set[str]]:
    """Ids of the customers with `refs`, creating those that do not exist yet (also
    returned, as the set of created refs)."""
    wanted = sorted(set(refs))
    ids: dict[str, int] = {}
    for chunk in _chunks(wanted):
        stmt = select(CUSTOMERS.c.customer_ref, CUSTOMERS.c.id).where(
            CUSTOMERS.c.customer_ref.in_(chunk)
        )
        ids.update({ref: cid for ref, cid in (await conn.execute(stmt)).all()})
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
        for chunk in _chunks(missing):
            stmt = select(CUSTOMERS.c.customer_ref, CUSTOMERS.c.id).where(
                CUSTOMERS.c.customer_ref.in_(chunk)
            )
            ids.update({ref: cid for ref, cid in (await conn.execute(stmt)).all()})
    return ids, set(missing)


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
) -> ImportReport:
    """Imports customer rows; see the module docstring. Raises
    :class:`bot.core.records.PersonalDataError` without a cipher when a row has contact data."""
    report = ImportReport()

    def parse(row: Mapping[str, Any]) -> CustomerIn:
        return parse_customer(row, locales, phone_country_code)

    for batch in _batches(rows, parse, batch_size, report):
        latest = {c.customer_ref: c for _, c in batch}  # a later row for a ref wins
        report.unchanged += len(batch) - len(latest)
        if cipher is None and any(c.phone or c.email or c.birthday for c in latest.values()):
            raise PersonalDataError(NO_KEY)
        async with engine.begin() as conn:
            ids, created = await _customer_ids(conn, latest, now, report)
            stored = await _stored_customers(conn, list(ids.values()), cipher)
            changed_customers: list[dict[str, Any]] = []
            profiles: list[dict[str, Any]] = []
            for ref, incoming in latest.items():
                cid = ids[ref]
                customer_row, profile = stored[cid]
                changes = _customer_changes(customer_row, incoming)
                merged = _merged_profile(cid, profile, incoming)
                if changes:
                    changed_customers.append({"b_id": cid, **changes, "updated_at": now})
                if merged is not None:
                    profiles.append(profile_values(merged, cipher))
                if ref in created:
                    report.created += 1
                elif changes or merged is not None:
                    report.updated += 1
                else:
                    report.unchanged += 1
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
                upsert = _upsert(conn, PROFILES)
                columns = {k: upsert.excluded[k] for k in profiles[0] if k != "customer_id"}
                await conn.execute(
                    upsert.on_conflict_do_update(index_elements=["customer_id"], set_=columns),
                    profiles,
                )
        if progress:
            progress(len(batch))
    report.customers_created = report.created
    return report


async def _stored_customers(
    conn: AsyncConnection, ids: list[int], cipher: PersonalDataCipher | None
) -> dict[int, tuple[dict[str, Any], CustomerProfile | None]]:
    out: dict[int, tuple[dict[str, Any], CustomerProfile | None]] = {}
    for chunk in _chunks(ids):
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


def _merged_profile(
    customer_id: int, stored: CustomerProfile | None, incoming: CustomerIn
) -> CustomerProfile | None:
    """The profile to write, or None when the stored one already says it all."""
    base = stored or CustomerProfile(customer_id=customer_id)
    merged = CustomerProfile(
        customer_id=customer_id,
        phone=incoming.phone or base.phone,
        email=incoming.email or base.email,
        birthday=incoming.birthday or base.birthday,
        tags=incoming.tags or base.tags,
        marketing_consent=base.marketing_consent,
        marketing_consent_at=base.marketing_consent_at,
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


async def window_through(conn: AsyncConnection, today: date) -> date:
    """The watermark of the running totals; created as `today` when there is none yet."""
    found = (await conn.execute(select(WINDOW.c.window_through).where(WINDOW.c.id == 1))).scalar()
    if found is None:
        moment = datetime.now(UTC)
        await conn.execute(insert(WINDOW).values(id=1, window_through=today, updated_at=moment))
        return today
    return found  # type: ignore[no-any-return]


async def import_orders(
    engine: AsyncEngine,
    rows: Iterable[tuple[int, Mapping[str, Any] | RowError]],
    *,
    shop_currency: str,
    now: datetime,
    policy: TierPolicy | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> ImportReport:
    """Imports order rows and keeps the RFM buckets and running totals current.

    The hot statements (reading the stored orders, inserting and updating orders, the bucket
    and running-total upserts) run as driver-level ``executemany`` of prepared tuples
    (:class:`BulkDriver`): an unchanged order is recognised by comparing its tuple with the stored
    one, and no value passes through SQLAlchemy's per-value type processing."""
    report = ImportReport()

    def parse(row: Mapping[str, Any]) -> OrderIn:
        return parse_order(row, shop_currency)

    for batch in _batches(rows, parse, batch_size, report):
        latest = {o.order_id: o for _, o in batch}
        report.unchanged += len(batch) - len(latest)
        async with engine.begin() as conn:
            driver = BulkDriver.of(conn)
            stored_time = driver.time
            refs = (o.customer_ref for o in latest.values())
            ids, _created = await _customer_ids(conn, refs, now, report)
            stored = await _stored_orders(conn, list(latest))
            new: list[tuple[Any, ...]] = []
            changed: list[tuple[Any, ...]] = []
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
                        _add(deltas, (old[0], old_day), -1, -old[1])
                if status in _COUNTS:
                    new_day = (o.paid_at or o.created_at).astimezone(UTC).date()
                    _add(deltas, (values[0], new_day), 1, o.amount_cents)
            if new:
                await driver.executemany(conn, _INSERT_ORDER, new)
            if changed:
                await driver.executemany(conn, _UPDATE_ORDER, changed)
            if deltas:
                through = await window_through(conn, now.astimezone(UTC).date())
                await apply_deltas(conn, deltas, window_start(through, policy or TierPolicy()))
        if progress:
            progress(len(batch))
    return report


def _add(deltas: dict[tuple[int, date], list[int]], key: tuple[int, date], n: int, c: int) -> None:
    entry = deltas.get(key)
    if entry is None:
        deltas[key] = [n, c]
    else:
        entry[0] += n
        entry[1] += c


async def _stored_orders(
    conn: AsyncConnection, order_ids: list[str]
) -> dict[str, tuple[Any, ...]]:
    """The stored orders among `order_ids`: order_id → the tuple of :data:`_ORDER_FIELDS`,
    values as the driver returns them (comparable with the tuples :class:`BulkDriver` writes)."""
    out: dict[str, tuple[Any, ...]] = {}
    columns = [type_coerce(ORDERS.c[k], AS_DRIVER) for k in _ORDER_FIELDS]
    for chunk in _chunks(order_ids):
        stmt = select(ORDERS.c.order_id, *columns).where(ORDERS.c.order_id.in_(chunk))
        for row in (await conn.execute(stmt)).all():
            out[row[0]] = tuple(row[1:])
    return out


async def apply_deltas(
    conn: AsyncConnection, deltas: Mapping[tuple[int, date], Sequence[int]], start: date
) -> None:
    """Adds per-(customer, day) changes of paid orders and cents to the buckets and to the
    running totals of the window starting on `start`."""
    changes = [(cid, day, n, c) for (cid, day), (n, c) in deltas.items() if n or c]
    if not changes:
        return
    driver = BulkDriver.of(conn)
    day_in = _memo(driver.day)
    await driver.executemany(
        conn, _UPSERT_PAID_DAY, [(cid, day_in(day), n, c) for cid, day, n, c in changes]
    )
    per_customer: dict[int, list[Any]] = {}  # first, last (of added days), window n, window c
    shrunk: set[int] = set()
    for cid, day, n, c in changes:
        entry = per_customer.get(cid)
        if entry is None:
            entry = per_customer[cid] = [None, None, 0, 0]
        if n > 0:
            if entry[0] is None or day < entry[0]:
                entry[0] = day
            if entry[1] is None or day > entry[1]:
                entry[1] = day
        else:
            shrunk.add(cid)
        if day >= start:
            entry[2] += n
            entry[3] += c
    await driver.executemany(
        conn,
        _UPSERT_RFM,
        [
            (
                cid,
                None if first is None else day_in(first),
                None if last is None else day_in(last),
                n,
                c,
            )
            for cid, (first, last, n, c) in per_customer.items()
        ],
    )
    if shrunk:
        await _refresh_first_last(conn, sorted(shrunk))


async def _refresh_first_last(conn: AsyncConnection, customer_ids: Sequence[int]) -> None:
    """After paid orders were withdrawn: drop empty buckets and recompute first and last paid
    days of these customers from their own buckets."""
    for chunk in _chunks(customer_ids):
        await conn.execute(
            delete(PAID_DAYS).where(
                and_(PAID_DAYS.c.customer_id.in_(chunk), PAID_DAYS.c.orders <= 0)
            )
        )
        bounds = (
            select(PAID_DAYS.c.customer_id, func.min(PAID_DAYS.c.day), func.max(PAID_DAYS.c.day))
            .where(PAID_DAYS.c.customer_id.in_(chunk))
            .group_by(PAID_DAYS.c.customer_id)
        )
        found = {cid: (lo, hi) for cid, lo, hi in (await conn.execute(bounds)).all()}
        rows = [
            {
                "b_id": cid,
                "first": found.get(cid, (None, None))[0],
                "last": found.get(cid, (None, None))[1],
            }
            for cid in chunk
        ]
        await conn.execute(
            update(RFM)
            .where(RFM.c.customer_id == bindparam("b_id"))
            .values(first_paid_day=bindparam("first"), last_paid_day=bindparam("last")),
            rows,
        )


# --------------------------------------------------------------------------------------------
# Driver-level bulk statements
# --------------------------------------------------------------------------------------------

#: A type without bind or result processing: values exactly as the driver returns them.
AS_DRIVER = NullType()

_K = TypeVar("_K")
_V = TypeVar("_V")


def _memo(convert: Callable[[_K], _V]) -> Callable[[_K], _V]:
    """`convert` with a per-call-site cache (a batch has few distinct days)."""
    cache: dict[_K, _V] = {}

    def cached(key: _K) -> _V:
        value = cache.get(key)
        if value is None:
            value = cache[key] = convert(key)
        return value

    return cached


def _sqlite_time(moment: datetime | None) -> str | None:
    """What SQLAlchemy's SQLite ``DATETIME`` writes for an aware time (via ``UTCDateTime``):
    naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _sqlite_day_of(stored: str) -> date:
    return date.fromisoformat(stored[:10])


def _aware_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _pg_day_of(stored: datetime) -> date:
    return stored.astimezone(UTC).date()


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class BulkStatement:
    """A statement of the import's hot path: `build(dialect name)` makes it with one
    ``bindparam("p_<column>")`` per column in `columns`, the order of the tuples given to
    :meth:`BulkDriver.executemany`."""

    build: Callable[[str], Any]
    columns: tuple[str, ...]

    @classmethod
    def insert_into(cls, table: Table, columns: tuple[str, ...]) -> BulkStatement:
        """A plain ``INSERT INTO table (columns…)``."""
        return cls(lambda dialect: insert(table).values(_binds(columns)), columns)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: Positional paramstyle: tuple positions in placeholder order (None: as given);
    #: named paramstyle: the parameter names, in tuple order.
    order: tuple[int, ...] | None
    names: tuple[str, ...] | None


@dataclass
class BulkDriver:
    """How the driver of a dialect takes and returns the values of the hot statements.

    SQLite stores a ``UTCDateTime`` as naive UTC text with microseconds and a ``Date`` as ISO
    text (exactly what SQLAlchemy's SQLite types write and read, so a row written here reads
    back through the ORM unchanged); PostgreSQL's drivers take aware datetimes and dates as
    they are. Statements are compiled once per dialect, with SQLAlchemy, into the driver's
    own paramstyle, and executed with ``exec_driver_sql``."""

    time: Callable[[datetime | None], Any]
    day: Callable[[date], Any]
    day_of: Callable[[Any], date]
    compiled: dict[BulkStatement, _Compiled] = field(default_factory=dict)

    @classmethod
    def of(cls, conn: AsyncConnection) -> BulkDriver:
        dialect = conn.dialect
        key = (dialect.name, dialect.driver)
        driver = _BULK_DRIVERS.get(key)
        if driver is None:
            if dialect.name == "sqlite":
                driver = cls(_sqlite_time, date.isoformat, _sqlite_day_of)
            elif dialect.name == "postgresql":
                driver = cls(_aware_time, _same, _pg_day_of)
            else:
                raise NotImplementedError(f"no bulk import for {dialect.name}")
            _BULK_DRIVERS[key] = driver
        return driver

    async def executemany(
        self, conn: AsyncConnection, statement: BulkStatement, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        compiled = self.compiled.get(statement)
        if compiled is None:
            compiled = self.compiled[statement] = _compile(conn, statement)
        params: list[Any]
        if compiled.names is not None:
            names = compiled.names
            params = [dict(zip(names, row, strict=True)) for row in rows]
        elif compiled.order is not None:
            order = compiled.order
            params = [tuple(row[i] for i in order) for row in rows]
        else:
            params = list(rows)
        await conn.exec_driver_sql(compiled.sql, params)


_BULK_DRIVERS: dict[tuple[str, str], BulkDriver] = {}


def _compile(conn: AsyncConnection, statement: BulkStatement) -> _Compiled:
    compiled = statement.build(conn.dialect.name).compile(dialect=conn.dialect)
    names = tuple(f"p_{c}" for c in statement.columns)
    if not compiled.positional:
        return _Compiled(compiled.string, None, names)
    placeholders = tuple(compiled.positiontup or ())
    if sorted(placeholders) != sorted(names):
        raise RuntimeError(f"unexpected parameters {placeholders}, expected {names}")
    order = tuple(names.index(p) for p in placeholders)
    return _Compiled(compiled.string, None if order == tuple(range(len(order))) else order, None)


def _dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT that supports ``on_conflict_do_update``."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


def _binds(columns: Sequence[str]) -> dict[str, Any]:
    return {c: bindparam(f"p_{c}") for c in columns}


_INSERT_ORDER = BulkStatement.insert_into(ORDERS, ("order_id", *_ORDER_FIELDS))
_UPDATE_ORDER = BulkStatement(
    lambda dialect: (
        update(ORDERS)
        .where(ORDERS.c.order_id == bindparam("p_order_id"))
        .values(_binds(_ORDER_FIELDS))
    ),
    (*_ORDER_FIELDS, "order_id"),
)


def _build_upsert_paid_day(dialect: str) -> Any:
    upsert = _dialect_insert(dialect, PAID_DAYS).values(
        _binds(("customer_id", "day", "orders", "amount_cents"))
    )
    return upsert.on_conflict_do_update(
        index_elements=["customer_id", "day"],
        set_={
            "orders": PAID_DAYS.c.orders + upsert.excluded.orders,
            "amount_cents": PAID_DAYS.c.amount_cents + upsert.excluded.amount_cents,
        },
    )


_UPSERT_PAID_DAY = BulkStatement(
    _build_upsert_paid_day, ("customer_id", "day", "orders", "amount_cents")
)
_RFM_COLUMNS = ("customer_id", "first_paid_day", "last_paid_day", "window_orders",
                "window_amount_cents")  # fmt: skip


def _build_upsert_rfm(dialect: str) -> Any:
    rfm = _dialect_insert(dialect, RFM).values(_binds(_RFM_COLUMNS))
    ex = rfm.excluded
    return rfm.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            "first_paid_day": case(
                (
                    or_(RFM.c.first_paid_day.is_(None), ex.first_paid_day < RFM.c.first_paid_day),
                    ex.first_paid_day,
                ),
                else_=RFM.c.first_paid_day,
            ),
            "last_paid_day": case(
                (
                    or_(RFM.c.last_paid_day.is_(None), ex.last_paid_day > RFM.c.last_paid_day),
                    ex.last_paid_day,
                ),
                else_=RFM.c.last_paid_day,
            ),
            "window_orders": RFM.c.window_orders + ex.window_orders,
            "window_amount_cents": RFM.c.window_amount_cents + ex.window_amount_cents,
        },
    )


_UPSERT_RFM = BulkStatement(_build_upsert_rfm, _RFM_COLUMNS)
