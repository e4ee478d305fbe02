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
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
        reader = csv.DictReader(handle)
        try:
            check_header(reader.fieldnames, known, required)
        except RowError as exc:
            raise FileFormatError(f"{path}:1: {exc}") from None
        line = 1
        for row in reader:
            start, line = line + 1, reader.line_num
            if None in row:
                yield start, RowError("more fields than the header has")
            else:
                yield start, row


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
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {conn.dialect.name}")


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


def _paid(status: str, paid_at: datetime | None, created_at: datetime) -> date | None:
    """The UTC day a stored or incoming order counts on, None if it does not count."""
    if not OrderStatus(status).counts_as_paid:
        return None
    return (paid_at or created_at).astimezone(UTC).date()


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
    """Imports order rows and keeps the RFM buckets and running totals current."""
    report = ImportReport()

    def parse(row: Mapping[str, Any]) -> OrderIn:
        return parse_order(row, shop_currency)

    for batch in _batches(rows, parse, batch_size, report):
        latest = {o.order_id: o for _, o in batch}
        report.unchanged += len(batch) - len(latest)
        async with engine.begin() as conn:
            refs = (o.customer_ref for o in latest.values())
            ids, _created = await _customer_ids(conn, refs, now, report)
            stored = await _stored_orders(conn, list(latest))
            new: list[dict[str, Any]] = []
            changed: list[dict[str, Any]] = []
            deltas: dict[tuple[int, date], list[int]] = {}
            for order_id, o in latest.items():
                values = {
                    "customer_id": ids[o.customer_ref],
                    "amount_cents": o.amount_cents,
                    "currency": o.currency,
                    "status": o.status.value,
                    "created_at": o.created_at,
                    "paid_at": o.paid_at,
                    "delivered_at": o.delivered_at,
                    "coupon_code": o.coupon_code,
                }
                old = stored.get(order_id)
                if old is not None and all(old[k] == values[k] for k in _ORDER_FIELDS):
                    report.unchanged += 1
                    continue
                if old is None:
                    new.append({"order_id": order_id, **values})
                    report.created += 1
                else:
                    changed.append({"b_order_id": order_id, **values})
                    report.updated += 1
                    old_day = _paid(old["status"], old["paid_at"], old["created_at"])
                    if old_day is not None:
                        _add(deltas, (old["customer_id"], old_day), -1, -old["amount_cents"])
                new_day = _paid(o.status.value, o.paid_at, o.created_at)
                if new_day is not None:
                    _add(deltas, (values["customer_id"], new_day), 1, o.amount_cents)
            if new:
                await conn.execute(insert(ORDERS), new)
            if changed:
                stmt = (
                    update(ORDERS)
                    .where(ORDERS.c.order_id == bindparam("b_order_id"))
                    .values({k: bindparam(k) for k in _ORDER_FIELDS})
                )
                await conn.execute(stmt, changed)
            if deltas:
                through = await window_through(conn, now.astimezone(UTC).date())
                await apply_deltas(conn, deltas, window_start(through, policy or TierPolicy()))
        if progress:
            progress(len(batch))
    return report


def _add(deltas: dict[tuple[int, date], list[int]], key: tuple[int, date], n: int, c: int) -> None:
    entry = deltas.setdefault(key, [0, 0])
    entry[0] += n
    entry[1] += c


async def _stored_orders(conn: AsyncConnection, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(order_ids):
        stmt = select(ORDERS.c.order_id, *(ORDERS.c[k] for k in _ORDER_FIELDS)).where(
            ORDERS.c.order_id.in_(chunk)
        )
        for row in (await conn.execute(stmt)).mappings():
            out[row["order_id"]] = dict(row)
    return out


async def apply_deltas(
    conn: AsyncConnection, deltas: Mapping[tuple[int, date], Sequence[int]], start: date
) -> None:
    """Adds per-(customer, day) changes of paid orders and cents to the buckets and to the
    running totals of the window starting on `start`."""
    changes = [(cid, day, n, c) for (cid, day), (n, c) in deltas.items() if n or c]
    if not changes:
        return
    upsert = _upsert(conn, PAID_DAYS)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["customer_id", "day"],
            set_={
                "orders": PAID_DAYS.c.orders + upsert.excluded.orders,
                "amount_cents": PAID_DAYS.c.amount_cents + upsert.excluded.amount_cents,
            },
        ),
        [
            {"customer_id": cid, "day": day, "orders": n, "amount_cents": c}
            for cid, day, n, c in changes
        ],
    )
    per_customer: dict[int, list[Any]] = {}  # first, last (of added days), window n, window c
    shrunk: set[int] = set()
    for cid, day, n, c in changes:
        entry = per_customer.setdefault(cid, [None, None, 0, 0])
        if n > 0:
            entry[0] = day if entry[0] is None or day < entry[0] else entry[0]
            entry[1] = day if entry[1] is None or day > entry[1] else entry[1]
        else:
            shrunk.add(cid)
        if day >= start:
            entry[2] += n
            entry[3] += c
    rfm = _upsert(conn, RFM)
    ex = rfm.excluded
    await conn.execute(
        rfm.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={
                "first_paid_day": case(
                    (
                        or_(
                            RFM.c.first_paid_day.is_(None),
                            ex.first_paid_day < RFM.c.first_paid_day,
                        ),
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
        ),
        [
            {
                "customer_id": cid,
                "first_paid_day": first,
                "last_paid_day": last,
                "window_orders": n,
                "window_amount_cents": c,
            }
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
