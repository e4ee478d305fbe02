"""SQL implementations of the repository Protocols in :mod:`bot.core.ports`.

Each repository wraps the unit of work's `AsyncSession`. Repositories never commit — the unit
of work does (:mod:`storage.uow`) — but they flush when they must hand back a generated id or
detect a duplicate. They take and return the core's dataclasses only; the row classes of
:mod:`storage.tables` stay inside this package. A returned dataclass is a copy: changing it
changes nothing until it is passed back (``update``, ``save``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.core.models import (
    Conversation,
    Customer,
    Direction,
    LoggedMessage,
    RequestStatus,
    SupportRequest,
)
from bot.core.ports import DuplicateUpdate
from storage.inbox import forget
from storage.mapping import (
    assign,
    conversation_from_row,
    conversation_values,
    customer_from_row,
    customer_values,
    message_from_row,
    message_to_row,
    request_from_row,
    request_to_row,
)
from storage.tables import ConversationRow, CustomerRow, MessageLogRow, SupportRequestRow

logger = logging.getLogger(__name__)


class SqlCustomerRepository:
    """:class:`bot.core.ports.CustomerRepository` over the ``customer`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, customer_id: int) -> Customer | None:
        row = await self._session.get(CustomerRow, customer_id)
        return None if row is None else customer_from_row(row)

    async def get_by_telegram_id(self, telegram_user_id: int) -> Customer | None:
        stmt = select(CustomerRow).where(col(CustomerRow.telegram_user_id) == telegram_user_id)
        row = (await self._session.scalars(stmt)).first()
        return None if row is None else customer_from_row(row)

    async def get_by_chat_id(self, chat_id: int) -> Customer | None:
        """The customer whose private chat this is (the oldest, should there be several)."""
        stmt = (
            select(CustomerRow)
            .where(col(CustomerRow.chat_id) == chat_id)
            .order_by(col(CustomerRow.id))
            .limit(1)
        )
        row = (await self._session.scalars(stmt)).first()
        return None if row is None else customer_from_row(row)

    async def ids_by_chat_id(self, chat_ids: Collection[int]) -> dict[int, int]:
        """One ``SELECT chat_id, min(id) … WHERE chat_id IN (…) GROUP BY chat_id``: for each
        of these chats that is a customer's private chat, the (oldest) customer's id."""
        if not chat_ids:
            return {}
        stmt = (
            select(CustomerRow.chat_id, func.min(CustomerRow.id))
            .where(col(CustomerRow.chat_id).in_(set(chat_ids)))
            .group_by(col(CustomerRow.chat_id))
        )
        return {
            int(chat): int(customer)
            for chat, customer in await self._session.execute(stmt)
            if chat is not None and customer is not None
        }

    async def add(self, customer: Customer) -> Customer:
        """Insert `customer` (its `id` is ignored) and return it with the new id. A second
        customer with the same Telegram user id fails with ``IntegrityError`` at flush."""
        row = CustomerRow(**customer_values(customer))
        self._session.add(row)
        await self._session.flush()
        return customer_from_row(row)

    async def update(self, customer: Customer) -> None:
        """Overwrite the stored customer `customer.id` with every field of `customer`.

        Raises ``ValueError`` without an id and ``LookupError`` for an unknown id."""
        if customer.id is None:
            raise ValueError("cannot update a customer that has no id; add it first")
        row = await self._session.get(CustomerRow, customer.id)
        if row is None:
            raise LookupError(f"no customer with id {customer.id}")
        assign(row, customer_values(customer))


class SqlMessageLogRepository:
    """:class:`bot.core.ports.MessageLogRepository` over the ``message_log`` table.

    Only inbound entries should carry an ``update_id``; the column is unique, which is what
    makes a re-delivered Telegram update detectable even when two workers race.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def has_update(self, update_id: int) -> bool:
        stmt = select(exists().where(col(MessageLogRow.update_id) == update_id))
        return bool((await self._session.scalars(stmt)).one())

    async def add(self, entry: LoggedMessage) -> LoggedMessage:
        """Insert `entry` and return it with its new id.

        An entry with an update id is inserted inside a SAVEPOINT: if the unique constraint
        rejects it, only the savepoint is rolled back, :class:`DuplicateUpdate` is raised and
        the unit of work remains usable (so the caller can simply skip the update).
        """
        row = message_to_row(entry)
        if entry.update_id is None:
            self._session.add(row)
            await self._session.flush()
            return message_from_row(row)
        try:
            async with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError as exc:
            # The savepoint is gone; now ask whether it was really the update id that clashed
            # (and not, say, an unknown customer id).
            if await self.has_update(entry.update_id):
                logger.info("update %s already recorded; ignoring re-delivery", entry.update_id)
                raise DuplicateUpdate(entry.update_id) from exc
            raise
        return message_from_row(row)

    async def add_many(self, entries: Sequence[LoggedMessage]) -> None:
        """Insert these entries (none with an update id) with one executemany ``INSERT`` on
        the Core table: no ORM objects, no ids read back."""
        if any(entry.update_id is not None for entry in entries):
            raise ValueError("entries with an update id are added one by one (add)")
        if not entries:
            return
        table = MessageLogRow.__table__  # type: ignore[attr-defined]
        await self._session.execute(insert(table), [_outbound(entry) for entry in entries])

    async def mark_handled(self, update_id: int, at: datetime) -> None:
        """Set ``handled_at`` on the entry of `update_id` (nothing happens if there is none)
        and, in the same transaction, take the update out of the inbox: handled is handled
        for both, so a restart never handles it again."""
        await forget(self._session, update_id)
        stmt = (
            update(MessageLogRow)
            .where(col(MessageLogRow.update_id) == update_id)
            .values(handled_at=at)
            .execution_options(synchronize_session="fetch")
        )
        await self._session.execute(stmt)

    async def find_sent(self, chat_id: int, telegram_message_id: int) -> LoggedMessage | None:
        stmt = (
            select(MessageLogRow)
            .where(
                col(MessageLogRow.chat_id) == chat_id,
                col(MessageLogRow.telegram_message_id) == telegram_message_id,
                col(MessageLogRow.direction) == "out",
            )
            .order_by(col(MessageLogRow.id).desc())
            .limit(1)
        )
        row = (await self._session.scalars(stmt)).first()
        return None if row is None else message_from_row(row)

    async def for_chat(self, chat_id: int, limit: int = 100) -> list[LoggedMessage]:
        """The chat's `limit` most recent entries, oldest first (ties broken by id)."""
        stmt = (
            select(MessageLogRow)
            .where(col(MessageLogRow.chat_id) == chat_id)
            .order_by(col(MessageLogRow.at).desc(), col(MessageLogRow.id).desc())
            .limit(limit)
        )
        rows = list((await self._session.scalars(stmt)).all())
        rows.reverse()
        return [message_from_row(row) for row in rows]

    async def posted_about(self, customer_id: int, own_chat_id: int | None) -> list[LoggedMessage]:
        stmt = (
            select(MessageLogRow)
            .where(
                col(MessageLogRow.customer_id) == customer_id,
                col(MessageLogRow.direction) == Direction.OUT.value,
                col(MessageLogRow.telegram_message_id).is_not(None),
                col(MessageLogRow.chat_id) != (own_chat_id if own_chat_id is not None else 0),
            )
            .order_by(col(MessageLogRow.at), col(MessageLogRow.id))
        )
        return [message_from_row(row) for row in await self._session.scalars(stmt)]


def _outbound(entry: LoggedMessage) -> dict[str, Any]:
    """The column values of an entry without an update id, for a Core ``INSERT`` (as
    :func:`storage.mapping.message_to_row` maps them, without building a validated row)."""
    return {
        "direction": Direction(entry.direction).value,
        "chat_id": entry.chat_id,
        "at": entry.at,
        "text": entry.text,
        "telegram_message_id": entry.telegram_message_id,
        "update_id": None,
        "customer_id": entry.customer_id,
        "template_key": entry.template_key,
        "content": entry.content,
        "handled_at": entry.handled_at,
    }


class SqlConversationRepository:
    """:class:`bot.core.ports.ConversationRepository` over the ``conversation`` table (one
    row per chat)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, chat_id: int) -> Conversation | None:
        row = await self._session.get(ConversationRow, chat_id)
        return None if row is None else conversation_from_row(row)

    async def save(self, conversation: Conversation) -> None:
        """Insert or overwrite the chat's conversation.

        Read-then-write: two units of work creating the *same* chat's first conversation at
        once would make the later commit fail on the primary key. Updates of one chat are
        handled one at a time, so that does not arise in practice."""
        row = await self._session.get(ConversationRow, conversation.chat_id)
        if row is None:
            self._session.add(ConversationRow(**conversation_values(conversation)))
        else:
            assign(row, conversation_values(conversation))

    async def clear(self, chat_id: int) -> None:
        """Forget the chat's conversation; nothing happens if there is none."""
        row = await self._session.get(ConversationRow, chat_id)
        if row is not None:
            await self._session.delete(row)


class SqlSupportRequestRepository:
    """:class:`bot.core.ports.SupportRequestRepository` over the ``support_request`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, request: SupportRequest) -> SupportRequest:
        row = request_to_row(request)
        self._session.add(row)
        await self._session.flush()
        return request_from_row(row)

    async def open_for_customer(self, customer_id: int) -> list[SupportRequest]:
        """The customer's requests with status ``open``, oldest first."""
        stmt = (
            select(SupportRequestRow)
            .where(
                col(SupportRequestRow.customer_id) == customer_id,
                col(SupportRequestRow.status) == RequestStatus.OPEN.value,
            )
            .order_by(col(SupportRequestRow.created_at), col(SupportRequestRow.id))
        )
        return [request_from_row(row) for row in (await self._session.scalars(stmt)).all()]
