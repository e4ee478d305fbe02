"""The base of every rapport table: its metadata, naming convention and model class.

These classes never leave `storage`: repositories convert them to and from the core's
dataclasses (see :mod:`storage.mapping`).

Conventions, so the schema stays portable between SQLite and PostgreSQL:

* every column is spelt out with an explicit SQLAlchemy type and nullability
  (``sa_column``), so sqlmodel's guesses (``AutoString`` without a length…) never reach the
  schema and the hand-written migrations can be checked against this module;
* Telegram ids (user, chat, update, message) are ``BIGINT``: they exceed 2**31;
* enums are stored as their string value in a ``VARCHAR`` (no native PostgreSQL enum types:
  adding a member would need a migration);
* times are :class:`storage.columns.UTCDateTime`;
* constraints and indexes get names from :data:`NAMING_CONVENTION`, so a later migration can
  drop them by name (SQLite batch mode needs names).

The tables live in their own :data:`metadata` (not sqlmodel's global one), so other packages'
models never leak into rapport's migrations. A new table subclasses :class:`StorageModel` in
a module of this package named for the feature that owns it, is imported by
``storage/tables/__init__.py``, gets a migration in ``storage/migrations/versions`` and is
covered by the schema test in ``tests/integration/test_storage.py``.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Everything rapport stores; alembic's ``target_metadata``.
metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StorageModel(SQLModel, registry=registry(metadata=metadata)):
    """Base of every rapport table (binds them to :data:`metadata`)."""
