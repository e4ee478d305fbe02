"""The inbox: Telegram updates recorded as received, before their offset is confirmed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel


class InboundUpdateRow(StorageModel, table=True):
    """An update accepted from ``getUpdates`` and not yet handled: its Bot API JSON as
    received (``payload``), kept so a restarted bot can handle it from the database.

    The row is deleted in the very transaction that marks the update handled in the message
    log (or when the core decides there is nothing to do for it), so the table holds only
    pending work and no personal data outlives the handling of its update (SPEC §12).
    """

    __tablename__ = "inbound_update"
    update_id: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    payload: str = Field(sa_column=Column(Text(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
