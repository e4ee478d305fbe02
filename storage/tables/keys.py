"""The fingerprint of the encryption key the personal data is written with (SPEC §12)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, LargeBinary
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel

#: The id of the one row of ``key_check``.
KEY_CHECK_ID = 1


class KeyCheckRow(StorageModel, table=True):
    """One row: :meth:`storage.crypto.PersonalDataCipher.fingerprint` of the current key and
    when it was recorded (first use, adoption or rotation). Never the key itself."""

    __tablename__ = "key_check"

    id: int = Field(sa_column=Column(Integer(), primary_key=True, autoincrement=False))
    fingerprint: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
