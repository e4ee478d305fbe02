"""The database knows which key its personal data is written with (issue #14, SPEC §12).

Without this a process started with another ``RAPPORT_ENCRYPTION_KEY`` would write new rows
under the wrong key (the right key could then no longer read them) and fail to find anyone by
phone. So the ``key_check`` table keeps the fingerprint of the key
(:meth:`~storage.crypto.PersonalDataCipher.fingerprint`, never the key), and every process that
opens the database with a key calls :func:`verify_key` first:

* a fingerprint is stored: the key must match it, else :class:`EncryptionKeyMismatch`;
* no fingerprint and no ciphertext yet (a new database): the key's fingerprint is recorded;
* no fingerprint but ciphertext (a database from before this check): the key is adopted only if
  it decrypts the value of the oldest customer, else :class:`EncryptionKeyMismatch`. The oldest
  is the one to trust: before this check a wrong key in practice only added *new* customers
  (the import decrypts a stored profile before changing it, which fails under a wrong key).

:func:`rotate_key` re-encrypts every encrypted column and recomputes every blind index under a
new key in one transaction, and replaces the fingerprint in the same transaction. Stop the bot
first: a process still running with the old key would keep writing under it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.records import PersonalDataError
from storage.crypto import ENCRYPTED_COLUMNS, INDEXED_COLUMNS, PersonalDataCipher
from storage.tables import CustomerProfileRow, KeyCheckRow, metadata
from storage.tables.keys import KEY_CHECK_ID

log = logging.getLogger(__name__)

_KEYS: Table = metadata.tables[KeyCheckRow.__tablename__]
_PROFILES: Table = metadata.tables[CustomerProfileRow.__tablename__]

#: Profiles re-encrypted per ``UPDATE … executemany`` during a rotation.
ROTATE_BATCH = 1_000

MISMATCH = (
    "RAPPORT_ENCRYPTION_KEY is not the key this database's personal data is encrypted with; "
    "start with the original key (change keys only with `rapport customer rotate-key`)"
)


class EncryptionKeyMismatch(PersonalDataError):
    """The configured key is not the database's key; nothing was read or written with it."""

    def __init__(self, message: str = MISMATCH) -> None:
        super().__init__(message)


class KeyStatus(StrEnum):
    """What :func:`verify_key` found."""

    MATCHED = "matched"  # the stored fingerprint is the key's
    RECORDED = "recorded"  # a database without personal data: the key is now its key
    ADOPTED = "adopted"  # older data, no fingerprint: the key decrypted it and was recorded


@dataclass(frozen=True, slots=True)
class Rotation:
    """What :func:`rotate_key` changed."""

    profiles: int
    values: int


async def verify_key(engine: AsyncEngine, cipher: PersonalDataCipher, now: datetime) -> KeyStatus:
    """Raises :class:`EncryptionKeyMismatch` unless `cipher`'s key is the database's key;
    records the fingerprint on first use (see the module docstring)."""
    try:
        async with engine.begin() as conn:
            status = await _verify(conn, cipher, now)
    except IntegrityError:
        # Another process recorded a fingerprint at the same moment: compare with that one.
        async with engine.begin() as conn:
            status = await _verify(conn, cipher, now)
    if status is not KeyStatus.MATCHED:
        log.info("encryption key fingerprint %s", status.value)
    return status


async def _verify(conn: AsyncConnection, cipher: PersonalDataCipher, now: datetime) -> KeyStatus:
    stored = await _fingerprint(conn)
    if stored is not None:
        if not cipher.matches(stored):
            raise EncryptionKeyMismatch()
        return KeyStatus.MATCHED
    sample = await _one_encrypted_value(conn)
    if sample is not None:
        column, blob = sample
        try:
            cipher.decrypt(blob, column)
        except PersonalDataError:
            raise EncryptionKeyMismatch() from None
    await conn.execute(
        insert(_KEYS).values(id=KEY_CHECK_ID, fingerprint=cipher.fingerprint(), recorded_at=now)
    )
    return KeyStatus.RECORDED if sample is None else KeyStatus.ADOPTED


async def _fingerprint(conn: AsyncConnection) -> bytes | None:
    found = await conn.scalar(select(_KEYS.c.fingerprint).where(_KEYS.c.id == KEY_CHECK_ID))
    return None if found is None else bytes(found)


async def _one_encrypted_value(conn: AsyncConnection) -> tuple[str, bytes] | None:
    """(column, ciphertext) of some stored personal value, None when there is none."""
    columns = [_PROFILES.c[f"{name}_enc"] for name in ENCRYPTED_COLUMNS]
    row = (
        await conn.execute(
            select(*columns)
            .where(or_(*(c.is_not(None) for c in columns)))
            .order_by(_PROFILES.c.customer_id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    for name, blob in zip(ENCRYPTED_COLUMNS, row, strict=True):
        if blob is not None:
            return name, bytes(blob)
    return None  # pragma: no cover - the WHERE clause guarantees a value


async def rotate_key(
    engine: AsyncEngine, old: PersonalDataCipher, new: PersonalDataCipher, now: datetime
) -> Rotation:
    """Re-encrypts every personal value and recomputes every blind index under `new`, and
    makes `new` the database's key, all in one transaction: on any error nothing changes.

    `old` must be the database's key (:func:`verify_key` rules, checked inside the same
    transaction); raises :class:`EncryptionKeyMismatch` otherwise."""
    if old.matches(new.fingerprint()):
        raise PersonalDataError("the new key is the key already in use; nothing to rotate")
    async with engine.begin() as conn:
        await _verify(conn, old, now)
        enc = [_PROFILES.c[f"{name}_enc"] for name in ENCRYPTED_COLUMNS]
        rows = (
            await conn.execute(
                select(_PROFILES.c.customer_id, *enc)
                .where(or_(*(c.is_not(None) for c in enc)))
                .order_by(_PROFILES.c.customer_id)
            )
        ).all()
        changes: list[dict[str, Any]] = []
        values = 0
        for row in rows:
            change: dict[str, Any] = {"profile_id": row[0]}
            for name, blob in zip(ENCRYPTED_COLUMNS, row[1:], strict=True):
                if blob is None:
                    change[f"new_{name}_enc"] = None
                    if name in INDEXED_COLUMNS:
                        change[f"new_{name}_index"] = None
                    continue
                plain = old.decrypt(bytes(blob), name)
                change[f"new_{name}_enc"] = new.encrypt(plain, name)
                if name in INDEXED_COLUMNS:
                    # The plaintext is stored normalised, exactly as it was indexed.
                    change[f"new_{name}_index"] = new.blind_index(plain, name)
                values += 1
            changes.append(change)
        statement = (
            update(_PROFILES)
            .where(_PROFILES.c.customer_id == bindparam("profile_id"))
            .values(
                {
                    **{f"{n}_enc": bindparam(f"new_{n}_enc") for n in ENCRYPTED_COLUMNS},
                    **{f"{n}_index": bindparam(f"new_{n}_index") for n in INDEXED_COLUMNS},
                }
            )
        )
        for start in range(0, len(changes), ROTATE_BATCH):
            await conn.execute(statement, changes[start : start + ROTATE_BATCH])
        await conn.execute(
            update(_KEYS)
            .where(_KEYS.c.id == KEY_CHECK_ID)
            .values(fingerprint=new.fingerprint(), recorded_at=now)
        )
    log.info("encryption key rotated: %d values in %d profiles", values, len(changes))
    return Rotation(profiles=len(changes), values=values)
