""":class:`bot.core.ports.NewsRepository` over the ``news_item`` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.engagement.news import NewsItem
from storage.tables.news import NewsItemRow


class SqlNewsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: NewsItem) -> NewsItem:
        row = NewsItemRow(
            locale=item.locale, title=item.title, body=item.body, created_at=item.created_at
        )
        self._session.add(row)
        await self._session.flush()
        assert row.id is not None
        return NewsItem(row.id, row.locale, row.title, row.body, row.created_at)

    async def since(self, moment: datetime) -> list[NewsItem]:
        stmt = (
            select(NewsItemRow)
            .where(col(NewsItemRow.created_at) > moment)
            .order_by(col(NewsItemRow.created_at), col(NewsItemRow.id))
        )
        return [
            NewsItem(row.id or 0, row.locale, row.title, row.body, row.created_at)
            for row in (await self._session.scalars(stmt)).all()
        ]
