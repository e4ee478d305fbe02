"""Driver-level bulk writes: one statement, many prepared tuples, no per-value type processing.

SQLAlchemy's per-value bind processing of timestamps dominated the Python time of a
million-row import, so the hot statements of the order import (:mod:`storage.customers_import`),
of the RFM running totals (:mod:`storage.rfm_totals`) and of the tiers write-back
(:mod:`storage.tiers_recompute`) are compiled once per dialect by SQLAlchemy and run as the
driver's own ``executemany`` of tuples already in the driver's format (:class:`BulkDriver`).
Figures in ``docs/performance.md``.

Also here: :func:`chunks` for ``IN (…)`` lists within the databases' parameter limits,
:func:`key_in` (``IN (…)`` lists on SQLite, one ``= ANY(array)`` on PostgreSQL) and
:func:`dialect_insert` for ``INSERT … ON CONFLICT`` (SQLite ≥ 3.24 and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, any_, bindparam, insert, select, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

__all__ = [
    "AS_DRIVER",
    "IN_CHUNK",
    "BulkDriver",
    "BulkStatement",
    "binds",
    "chunks",
    "dialect_insert",
    "key_in",
    "memo",
    "rows_into",
]

#: Keys per ``IN (…)`` list, well under SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 5_000


Rows = Select[Any]
"""A ``SELECT`` whose rows a staged statement writes (:attr:`BulkStatement.staged`)."""

#: Rows from which a staged upsert (:attr:`BulkStatement.staged`) goes through ``COPY`` and a
#: staging table on PostgreSQL; fewer run as ``executemany`` (creating the table costs more).
STAGE_FROM = 200


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices of at most `size` (for ``IN (…)`` lists)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def key_in(
    dialect: str, column: ColumnElement[Any], keys: Sequence[Any]
) -> Iterator[ColumnElement[bool]]:
    """Conditions that together pick the rows whose `column` is one of `keys`, one query each:
    on PostgreSQL a single ``column = ANY(:keys)`` (one array parameter: one prepared
    statement whatever the count, nothing to compile per key); elsewhere ``IN (…)`` lists of
    at most :data:`IN_CHUNK`."""
    if not keys:
        return
    if dialect == "postgresql":
        array = bindparam(None, list(keys), type_=postgresql.ARRAY(column.type))
        yield column == any_(array)
        return
    for chunk in chunks(keys):
        yield column.in_(chunk)


#: A type without bind or result processing: values exactly as the driver returns them.
AS_DRIVER = NullType()

_K = TypeVar("_K")
_V = TypeVar("_V")


def memo(convert: Callable[[_K], _V]) -> Callable[[_K], _V]:
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
    """A statement of a hot path: `build(dialect name)` makes it with one
    ``bindparam("p_<column>")`` per column in `columns`, the order of the tuples given to
    :meth:`BulkDriver.executemany`."""

    build: Callable[[str], Any]
    columns: tuple[str, ...]
    copy_into: str | None = None
    """For a plain ``INSERT`` (no conflict clause, nothing returned): its table, which
    PostgreSQL fills with ``COPY`` instead (see :meth:`BulkDriver.executemany`)."""
    staged: Callable[[Select[Any]], Any] | None = None
    """For an ``INSERT … ON CONFLICT`` into :attr:`into`: the same statement taking its rows
    from a ``SELECT`` (build it with :func:`rows_into`). PostgreSQL ``COPY``s many rows into a
    temporary staging table and runs this once, instead of the upsert once per row; the rows'
    conflict keys must then be distinct (one statement may not update a row twice)."""
    into: Table | None = None

    @classmethod
    def upsert_into(
        cls, table: Table, columns: tuple[str, ...], build: Callable[[str, Rows | None], Any]
    ) -> BulkStatement:
        """An ``INSERT … ON CONFLICT`` into `table` that `build(dialect, rows)` makes with
        :func:`rows_into`: of bound parameters when `rows` is None, else of that ``SELECT``'s
        rows (PostgreSQL stages many rows, see :attr:`staged`)."""
        return cls(
            lambda dialect: build(dialect, None),
            columns,
            staged=lambda rows: build("postgresql", rows),
            into=table,
        )

    @classmethod
    def insert_into(cls, table: Table, columns: tuple[str, ...]) -> BulkStatement:
        """A plain ``INSERT INTO table (columns…)``; on PostgreSQL a ``COPY``."""
        return cls(lambda dialect: insert(table).values(binds(columns)), columns, table.name)


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
    copies: bool = False
    """Whether plain inserts go through the driver's ``COPY`` (asyncpg's binary
    ``copy_records_to_table``: one stream instead of a statement per row)."""
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
                driver = cls(_aware_time, _same, _pg_day_of, copies=dialect.driver == "asyncpg")
            else:
                raise NotImplementedError(f"no bulk import for {dialect.name}")
            _BULK_DRIVERS[key] = driver
        return driver

    async def executemany(
        self, conn: AsyncConnection, statement: BulkStatement, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Runs `statement` once per tuple of `rows`, within `conn`'s transaction."""
        if not rows:
            return
        if self.copies and statement.copy_into is not None:
            await _copy(conn, statement.copy_into, statement.columns, rows)
            return
        if self.copies and statement.staged is not None and len(rows) >= STAGE_FROM:
            await _staged(conn, statement, rows)
            return
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


async def _copy(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``COPY table (columns) FROM STDIN`` (binary) on the asyncpg connection under `conn`,
    inside `conn`'s transaction: SQLAlchemy begins it lazily at the first statement, so one is
    run first when none has been."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    if not raw.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    await raw.copy_records_to_table(table, records=rows, columns=list(columns))


async def _staged(
    conn: AsyncConnection, statement: BulkStatement, rows: Sequence[tuple[Any, ...]]
) -> None:
    """`statement`'s rows ``COPY``'d into a temporary table of its target's columns (created
    once per transaction, dropped at its end), then one ``INSERT … SELECT … ON CONFLICT``."""
    assert statement.staged is not None and statement.into is not None
    table, columns = statement.into, statement.columns
    stage = f"rapport_stage_{table.name}"
    listed = ", ".join(f'"{c}"' for c in columns)
    await conn.execute(
        text(
            f'CREATE TEMPORARY TABLE IF NOT EXISTS "{stage}" ON COMMIT DROP AS '
            f'SELECT {listed} FROM "{table.name}" WITH NO DATA'
        )
    )
    await _copy(conn, stage, columns, rows)
    staged = sql_table(stage, *(sql_column(c) for c in columns))
    await conn.execute(statement.staged(select(*staged.c)))
    await conn.execute(text(f'TRUNCATE "{stage}"'))  # for the next use in this transaction


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


def dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT that supports ``on_conflict_do_update``."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


def rows_into(upsert: Any, columns: Sequence[str], rows: Rows | None) -> Any:
    """`upsert` (a :func:`dialect_insert`) of the bound parameters :func:`binds` names, or,
    given `rows`, of that ``SELECT``'s rows (a :attr:`BulkStatement.staged` statement)."""
    if rows is None:
        return upsert.values(binds(columns))
    return upsert.from_select(list(columns), rows)


def binds(columns: Sequence[str]) -> dict[str, Any]:
    """One ``bindparam("p_<column>")`` per column, the names :class:`BulkStatement` expects."""
    return {c: bindparam(f"p_{c}") for c in columns}
