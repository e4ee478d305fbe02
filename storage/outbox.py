"""The outbox repository (``outbox``): insert-or-ignore on the idempotency key, and every
state change a conditional ``UPDATE … WHERE id = ? AND state = ?`` whose row count says who
won (the batch forms: ``… WHERE id IN (…) AND <claimable> RETURNING id`` for claims, an
executemany of the one-row update for sent rows). Portable: a duplicate key is caught as an
IntegrityError inside a SAVEPOINT, so the caller's transaction (the job's decision) carries on,
on SQLite and PostgreSQL alike. Many rows at once (a campaign's batch) go in multi-row
``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`` statements
(:meth:`SqlOutboxRepository.enqueue_many`; SQLite ≥ 3.35 and PostgreSQL), no savepoint each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, bindparam, case, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import and_, col, select

from bot.core.messages import OutButton, Outgoing, TopicRef
from bot.core.outbox_model import Lane, OutboxMessage, OutboxState, OutboxSummary
from storage.bulk import chunks, dialect_insert
from storage.tables.outbox import OutboxRow

PARSE_MODE = "HTML"
"""Every rendered message is Telegram HTML (:func:`bot.core.delivery.render_reply`)."""
ENQUEUE_CHUNK = 500
"""Rows per multi-row INSERT: 500 × 28 columns stays under SQLite's 32,766 parameters (and
PostgreSQL's 65,535) per statement; a larger batch is written in several statements."""


def _to_row(item: OutboxMessage) -> OutboxRow:
    return OutboxRow(**_values(item))


def _values(item: OutboxMessage) -> dict[str, Any]:
    """The row's columns (but its id) for `item`."""
    m = item.message
    return dict(
        lane=item.lane.value,
        chat_id=m.chat_id,
        text=m.text,
        buttons=json.dumps(
            [
                [[b.text, b.data, b.url] if b.url else [b.text, b.data] for b in row]
                for row in m.buttons
            ]
        ),
        parse_mode=PARSE_MODE,
        thread_id=m.thread_id,
        topic=json.dumps([m.topic.ticket_id, m.topic.title, m.topic.icon_color])
        if m.topic
        else None,
        request_contact=m.request_contact,
        remove_keyboard=m.remove_keyboard,
        about_customer_id=m.about_customer_id,
        template_key=m.template_key,
        idempotency_key=item.key,
        state=item.state.value,
        attempts=item.attempts,
        last_error=item.last_error,
        not_before=item.not_before,
        claimed_by=item.claimed_by,
        claimed_at=item.claimed_at,
        created_at=item.created_at,
        sent_at=item.sent_at,
        telegram_message_id=item.telegram_message_id,
        edit_message_id=m.edit_message_id,
        copy_from_chat_id=m.copy_from_chat_id,
        copy_message_id=m.copy_message_id,
        rename_thread_id=m.rename_thread_id,
        delete_message_id=m.delete_message_id,
    )


def _from_row(row: Any) -> OutboxMessage:
    """An ``OutboxRow``, or a result row of its columns (named alike), as the core's row."""
    topic = json.loads(row.topic) if row.topic else None
    message = Outgoing(
        chat_id=row.chat_id,
        text=row.text,
        buttons=tuple(
            tuple(OutButton(*button) for button in line) for line in json.loads(row.buttons)
        ),
        template_key=row.template_key,
        about_customer_id=row.about_customer_id,
        topic=TopicRef(int(topic[0]), str(topic[1]), int(topic[2])) if topic else None,
        thread_id=row.thread_id,
        request_contact=row.request_contact,
        remove_keyboard=row.remove_keyboard,
        edit_message_id=row.edit_message_id,
        copy_from_chat_id=row.copy_from_chat_id,
        copy_message_id=row.copy_message_id,
        rename_thread_id=row.rename_thread_id,
        delete_message_id=row.delete_message_id,
    )
    return OutboxMessage(
        key=row.idempotency_key,
        lane=Lane(row.lane),
        message=message,
        created_at=row.created_at,
        not_before=row.not_before,
        state=OutboxState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        sent_at=row.sent_at,
        telegram_message_id=row.telegram_message_id,
        id=row.id,
    )


def _claimable(stale_before: datetime | None) -> Any:
    """Pending, or (with `stale_before`) sending since before it: a row a sender may claim."""
    pending = col(OutboxRow.state) == OutboxState.PENDING.value
    if stale_before is None:
        return pending
    return or_(
        pending,
        and_(
            col(OutboxRow.state) == OutboxState.SENDING.value,
            col(OutboxRow.claimed_at) < stale_before,
        ),
    )


class SqlOutboxRepository:
    """:class:`bot.core.ports.OutboxRepository` over the ``outbox`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _update(self, outbox_id: int, where: Any, **values: Any) -> bool:
        stmt = (
            update(OutboxRow)
            .where(col(OutboxRow.id) == outbox_id, where)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result: CursorResult[Any] = await self._session.execute(stmt)  # type: ignore[assignment]
        return result.rowcount == 1

    async def enqueue(self, item: OutboxMessage) -> int | None:
        row = _to_row(item)
        try:
            async with self._session.begin_nested():
                self._session.add(row)
                await self._session.flush()
        except IntegrityError:
            return None
        return row.id

    async def enqueue_many(self, items: Sequence[OutboxMessage]) -> list[str]:
        """One ``INSERT … VALUES (…), (…) ON CONFLICT (idempotency_key) DO NOTHING RETURNING
        idempotency_key`` per :data:`ENQUEUE_CHUNK` rows, the dialect's own insert construct
        (:func:`storage.bulk.dialect_insert`): the database skips a taken key, whoever took
        it, without failing the statement or the caller's transaction."""
        if not items:
            return []
        table = OutboxRow.__table__  # type: ignore[attr-defined]
        dialect = self._session.get_bind().dialect.name
        written: list[str] = []
        for chunk in chunks(items, ENQUEUE_CHUNK):
            stmt = (
                dialect_insert(dialect, table)
                .values([_values(item) for item in chunk])
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(table.c.idempotency_key)
            )
            written += [str(key) for key in await self._session.scalars(stmt)]
        return written

    async def get(self, outbox_id: int) -> OutboxMessage | None:
        row = await self._session.scalar(
            select(OutboxRow)
            .where(col(OutboxRow.id) == outbox_id)
            .execution_options(populate_existing=True)
        )
        return _from_row(row) if row is not None else None

    async def due(self, now: datetime, stale_before: datetime, limit: int) -> list[OutboxMessage]:
        """Reads plain column tuples rather than ORM rows: at Telegram's paid rate loading
        (and validating) an ``OutboxRow`` per message costs more than the query."""
        table = OutboxRow.__table__  # type: ignore[attr-defined]
        stmt = (
            select(*table.columns)
            .where(
                or_(
                    and_(
                        col(OutboxRow.state) == OutboxState.PENDING.value,
                        col(OutboxRow.not_before) <= now,
                    ),
                    and_(
                        col(OutboxRow.state) == OutboxState.SENDING.value,
                        col(OutboxRow.claimed_at) < stale_before,
                    ),
                )
            )
            .order_by(
                case((col(OutboxRow.lane) == Lane.SERVICE.value, 0), else_=1),
                col(OutboxRow.created_at),
                col(OutboxRow.id),
            )
            .limit(limit)
        )
        return [_from_row(row) for row in await self._session.execute(stmt)]

    async def claim(
        self, outbox_id: int, worker: str, now: datetime, stale_before: datetime | None
    ) -> bool:
        return await self._update(
            outbox_id,
            _claimable(stale_before),
            state=OutboxState.SENDING.value,
            claimed_by=worker[:128],
            claimed_at=now,
        )

    async def claim_many(
        self, outbox_ids: Sequence[int], worker: str, now: datetime, stale_before: datetime | None
    ) -> list[int]:
        """One ``UPDATE … WHERE id IN (…) AND <claimable> RETURNING id``: the database
        changes each row at most once under its row lock (PostgreSQL re-checks the condition
        on a row another transaction changed meanwhile; SQLite has one writer), so of two
        callers only the one whose update changed a row gets its id back. ``RETURNING`` is
        in PostgreSQL and SQLite ≥ 3.35 alike."""
        if not outbox_ids:
            return []
        stmt = (
            update(OutboxRow)
            .where(col(OutboxRow.id).in_(list(outbox_ids)), _claimable(stale_before))
            .values(state=OutboxState.SENDING.value, claimed_by=worker[:128], claimed_at=now)
            .returning(col(OutboxRow.id))
            .execution_options(synchronize_session=False)
        )
        won = {int(i) for i in await self._session.scalars(stmt) if i is not None}
        return [i for i in outbox_ids if i in won]

    async def refresh_claims(self, outbox_ids: Sequence[int], worker: str, now: datetime) -> int:
        if not outbox_ids:
            return 0
        stmt = (
            update(OutboxRow)
            .where(
                col(OutboxRow.id).in_(list(outbox_ids)),
                col(OutboxRow.state) == OutboxState.SENDING.value,
                col(OutboxRow.claimed_by) == worker[:128],
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int((await self._session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]

    async def mark_sent(self, outbox_id: int, at: datetime, telegram_message_id: int) -> None:
        await self.mark_sent_many([(outbox_id, telegram_message_id)], at)

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]], at: datetime) -> None:
        """One executemany ``UPDATE … WHERE id = ? AND state = 'sending'`` for all of them
        (the Core table, so SQLAlchemy neither loads nor tracks ORM objects)."""
        if not sent:
            return
        table = OutboxRow.__table__  # type: ignore[attr-defined]
        stmt = (
            update(table)
            .where(
                table.c.id == bindparam("sent_id"),
                table.c.state == OutboxState.SENDING.value,
            )
            .values(
                state=OutboxState.SENT.value,
                sent_at=at,
                telegram_message_id=bindparam("sent_message_id"),
                last_error=None,
            )
        )
        await self._session.execute(stmt, [{"sent_id": i, "sent_message_id": m} for i, m in sent])

    async def finish(self, outbox_id: int, state: OutboxState, reason: str, attempts: int) -> None:
        if state not in (OutboxState.FAILED, OutboxState.SKIPPED):
            raise ValueError(f"a row is finished as failed or skipped, not {state.value}")
        await self._update(
            outbox_id,
            col(OutboxRow.state) == OutboxState.SENDING.value,
            state=state.value,
            last_error=reason,
            attempts=attempts,
        )

    async def release(
        self, outbox_id: int, reason: str, attempts: int, not_before: datetime
    ) -> None:
        await self._update(
            outbox_id,
            col(OutboxRow.state) == OutboxState.SENDING.value,
            state=OutboxState.PENDING.value,
            last_error=reason,
            attempts=attempts,
            not_before=not_before,
            claimed_by=None,
            claimed_at=None,
        )

    async def summary(self, errors: int = 5, watch: Sequence[int] = ()) -> OutboxSummary:
        counted = await self._session.execute(
            select(OutboxRow.lane, OutboxRow.state, func.count()).group_by(
                col(OutboxRow.lane), col(OutboxRow.state)
            )
        )
        counts = {(str(lane), str(state)): int(n) for lane, state, n in counted}
        oldest = await self._session.scalar(
            select(func.min(OutboxRow.created_at)).where(
                col(OutboxRow.state) == OutboxState.PENDING.value
            )
        )
        failures = await self._session.execute(
            select(OutboxRow.id, OutboxRow.state, OutboxRow.last_error)
            .where(col(OutboxRow.state).in_([OutboxState.FAILED.value, OutboxState.SKIPPED.value]))
            .order_by(col(OutboxRow.id).desc())
            .limit(errors)
        )
        return OutboxSummary(
            counts,
            oldest,
            [(int(i or 0), str(s), str(e or "")) for i, s, e in failures],
            await self._failing_chats(watch),
        )

    async def _failing_chats(self, watch: Sequence[int]) -> list[tuple[int, int, str]]:
        """Two statements: per watched chat, the failing rows and the newest of them; then
        that row's error."""
        if not watch:
            return []
        failing = or_(
            col(OutboxRow.state).in_([OutboxState.FAILED.value, OutboxState.SKIPPED.value]),
            and_(col(OutboxRow.state) == OutboxState.PENDING.value, col(OutboxRow.attempts) > 0),
        )
        grouped = (
            await self._session.execute(
                select(OutboxRow.chat_id, func.count(), func.max(OutboxRow.id))
                .where(col(OutboxRow.chat_id).in_(list(watch)), failing)
                .group_by(col(OutboxRow.chat_id))
            )
        ).all()
        newest = [int(last) for _chat, _n, last in grouped if last is not None]
        found = await self._session.execute(
            select(OutboxRow.id, OutboxRow.last_error).where(col(OutboxRow.id).in_(newest))
        )
        errors: dict[int, str | None] = {int(i or 0): e for i, e in found}
        return sorted(
            (int(chat), int(n), str(errors.get(int(last or 0)) or "")) for chat, n, last in grouped
        )

    async def requeue(self, outbox_id: int, now: datetime) -> bool:
        return await self._update(
            outbox_id,
            col(OutboxRow.state).in_([OutboxState.FAILED.value, OutboxState.SKIPPED.value]),
            state=OutboxState.PENDING.value,
            attempts=0,
            not_before=now,
            claimed_by=None,
            claimed_at=None,
        )

    async def _back_to_pending(self, where: Any, now: datetime, **values: Any) -> int:
        """Every row matching `where` back to pending, due at `now`, unclaimed; how many."""
        stmt = (
            update(OutboxRow)
            .where(where)
            .values(
                state=OutboxState.PENDING.value,
                not_before=now,
                claimed_by=None,
                claimed_at=None,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        result: CursorResult[Any] = await self._session.execute(stmt)  # type: ignore[assignment]
        return int(result.rowcount)

    async def requeue_failed(self, now: datetime) -> int:
        failed = col(OutboxRow.state) == OutboxState.FAILED.value
        return await self._back_to_pending(failed, now, attempts=0)

    async def claimants(self) -> list[str]:
        rows = await self._session.scalars(
            select(OutboxRow.claimed_by)
            .where(col(OutboxRow.state) == OutboxState.SENDING.value)
            .distinct()
        )
        return [str(worker) for worker in rows if worker is not None]

    async def release_claims(self, worker: str, reason: str, now: datetime) -> int:
        held = and_(
            col(OutboxRow.state) == OutboxState.SENDING.value, col(OutboxRow.claimed_by) == worker
        )
        return await self._back_to_pending(held, now, last_error=reason)
