"""Product news items that the mid tier's playbook rule carries (SPEC §8;
:mod:`bot.core.engagement.news`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field

from storage.columns import UTCDateTime, surrogate_key
from storage.tables.base import StorageModel


class NewsItemRow(StorageModel, table=True):
    __tablename__ = "news_item"
    __table_args__ = (Index(None, "created_at"),)

    id: int | None = Field(default=None, sa_column=Column("id", surrogate_key(), primary_key=True))
    locale: str = Field(sa_column=Column(String(16), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
