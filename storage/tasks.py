""":class:`bot.core.ports.StaffTaskRepository` over the ``staff_task`` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.staff_tasks import StaffTask, TaskChoice, TaskKind, TaskState
from storage.tables.tasks import StaffTaskRow
from storage.unique import add_unless_taken


def _task(row: StaffTaskRow) -> StaffTask:
    return StaffTask(
        kind=TaskKind(row.kind),
        customer_id=row.customer_id,
        period=row.period,
        chat_id=row.chat_id,
        opened_at=row.opened_at,
        reason=row.reason,
        assignee=row.assignee,
        rule_id=row.rule_id,
        state=TaskState(row.state),
        choice=TaskChoice(row.choice) if row.choice else None,
        acted_by=row.acted_by,
        acted_at=row.acted_at,
        id=row.id,
    )


class SqlStaffTaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, task: StaffTask) -> StaffTask | None:
        row = StaffTaskRow(
            kind=task.kind.value,
            customer_id=task.customer_id,
            period=task.period,
            assignee=task.assignee,
            chat_id=task.chat_id,
            rule_id=task.rule_id,
            reason=task.reason[:200],
            state=task.state.value,
            opened_at=task.opened_at,
        )
        if not await add_unless_taken(self._session, row):
            return None
        return _task(row)

    async def get(self, task_id: int) -> StaffTask | None:
        row = await self._session.scalar(
            select(StaffTaskRow)
            .where(col(StaffTaskRow.id) == task_id)
            .execution_options(populate_existing=True)
        )
        return _task(row) if row is not None else None

    async def decide(
        self, task_id: int, state: TaskState, choice: TaskChoice, by: int, at: datetime
    ) -> bool:
        result = await self._session.execute(
            update(StaffTaskRow)
            .where(col(StaffTaskRow.id) == task_id)
            .where(col(StaffTaskRow.state) == TaskState.OPEN.value)
            .values(state=state.value, choice=choice.value, acted_by=by, acted_at=at)
        )
        return bool(getattr(result, "rowcount", 0))

    async def listing(self, *, open_only: bool = False, limit: int = 500) -> list[StaffTask]:
        stmt = select(StaffTaskRow)
        if open_only:
            stmt = stmt.where(col(StaffTaskRow.state) == TaskState.OPEN.value)
        stmt = stmt.order_by(col(StaffTaskRow.opened_at).desc(), col(StaffTaskRow.id).desc())
        rows = (await self._session.scalars(stmt.limit(limit))).all()
        return [_task(row) for row in rows]
