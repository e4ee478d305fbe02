""":class:`bot.core.ports.SurveyRepository` over the ``nps_survey`` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.surveys import Survey
from storage.tables.surveys import NpsSurveyRow
from storage.unique import add_unless_taken


def _survey(row: NpsSurveyRow) -> Survey:
    return Survey(
        customer_id=row.customer_id,
        rule_id=row.rule_id,
        period=row.period,
        tier=row.tier,
        sent_at=row.sent_at,
        score=row.score,
        answered_at=row.answered_at,
        comment=row.comment,
        id=row.id,
    )


class SqlSurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, survey: Survey) -> Survey | None:
        row = NpsSurveyRow(
            customer_id=survey.customer_id,
            rule_id=survey.rule_id,
            period=survey.period,
            tier=survey.tier,
            sent_at=survey.sent_at,
        )
        if not await add_unless_taken(self._session, row):
            return None
        return _survey(row)

    async def get(self, survey_id: int) -> Survey | None:
        row = await self._session.scalar(
            select(NpsSurveyRow)
            .where(col(NpsSurveyRow.id) == survey_id)
            .execution_options(populate_existing=True)
        )
        return _survey(row) if row is not None else None

    async def answer(self, survey_id: int, score: int, at: datetime) -> None:
        await self._session.execute(
            update(NpsSurveyRow)
            .where(col(NpsSurveyRow.id) == survey_id)
            .values(score=score, answered_at=at)
        )

    async def set_comment(self, survey_id: int, comment: str) -> bool:
        result = await self._session.execute(
            update(NpsSurveyRow)
            .where(col(NpsSurveyRow.id) == survey_id)
            .where(col(NpsSurveyRow.comment).is_(None))
            .values(comment=comment)
        )
        return bool(getattr(result, "rowcount", 0))

    async def sent_between(self, start: datetime, end: datetime) -> list[Survey]:
        rows = await self._session.scalars(
            select(NpsSurveyRow)
            .where(col(NpsSurveyRow.sent_at) >= start)
            .where(col(NpsSurveyRow.sent_at) < end)
            .order_by(col(NpsSurveyRow.sent_at), col(NpsSurveyRow.id))
        )
        return [_survey(row) for row in rows.all()]
