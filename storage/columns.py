"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as an aware datetime and always comes out as aware UTC.

    PostgreSQL keeps it as ``timestamptz``. SQLite has no time zones and silently drops
    ``tzinfo``, so there the value is converted to UTC first and stored naive (the ISO text
    then also sorts correctly); on the way back UTC is attached again. Naive datetimes are
    refused: inside rapport a naive time is a bug, and guessing its zone would hide it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: rapport stores aware UTC times only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def surrogate_key() -> BigInteger:
    """The type of a table's own auto-increment id: BIGINT on PostgreSQL, but INTEGER on
    SQLite, where only ``INTEGER PRIMARY KEY`` is an auto-incrementing rowid (SQLite's
    INTEGER holds 64 bits anyway)."""
    return BigInteger().with_variant(Integer(), "sqlite")
