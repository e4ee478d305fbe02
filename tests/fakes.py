"""Fakes, not mocks: an in-memory unit of work, a recording messenger, a frozen clock.

They implement the core's Protocols faithfully enough that the handlers and services are
tested exactly as they run, without a database or Telegram.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from bot.core.errors import DeliveryError
from bot.core.messages import Outgoing, Sent
from bot.core.models import Conversation, Customer, Direction, LoggedMessage, SupportRequest
from bot.core.ports import (
    ConversationRepository,
    CustomerRepository,
    DuplicateUpdate,
    FaqMatch,
    MessageLogRepository,
    SupportRequestRepository,
)


class FrozenClock:
    """Time stands still until a test (or a sleep) moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class MemoryStore:
    """The "database" shared by every fake unit of work of one test."""

    customers: dict[int, Customer] = field(default_factory=dict)
    messages: list[LoggedMessage] = field(default_factory=list)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    requests: list[SupportRequest] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class _Customers:
    def __init__(self, data: dict[int, Customer], ids: itertools.count[int]) -> None:
        self._data, self._ids = data, ids

    async def get(self, customer_id: int) -> Customer | None:
        found = self._data.get(customer_id)
        return copy.deepcopy(found) if found else None

    async def get_by_telegram_id(self, telegram_user_id: int) -> Customer | None:
        for c in self._data.values():
            if c.telegram_user_id == telegram_user_id:
                return copy.deepcopy(c)
        return None

    async def get_by_chat_id(self, chat_id: int) -> Customer | None:
        for c in self._data.values():
            if c.chat_id == chat_id:
                return copy.deepcopy(c)
        return None

    async def add(self, customer: Customer) -> Customer:
        stored = replace(customer, id=next(self._ids))
        assert stored.id is not None
        self._data[stored.id] = stored
        return copy.deepcopy(stored)

    async def update(self, customer: Customer) -> None:
        assert customer.id is not None and customer.id in self._data
        self._data[customer.id] = copy.deepcopy(customer)


class _Messages:
    def __init__(self, data: list[LoggedMessage], ids: itertools.count[int]) -> None:
        self._data, self._ids = data, ids

    async def has_update(self, update_id: int) -> bool:
        return any(m.update_id == update_id for m in self._data)

    async def add(self, entry: LoggedMessage) -> LoggedMessage:
        if (
            entry.direction is Direction.IN
            and entry.update_id is not None
            and await self.has_update(entry.update_id)
        ):
            raise DuplicateUpdate(entry.update_id)
        stored = replace(entry, id=next(self._ids))
        self._data.append(stored)
        return stored

    async def mark_handled(self, update_id: int, at: datetime) -> None:
        for m in self._data:
            if m.update_id == update_id:
                m.handled_at = at

    async def for_chat(self, chat_id: int, limit: int = 100) -> list[LoggedMessage]:
        return [m for m in self._data if m.chat_id == chat_id][-limit:]


class _Conversations:
    def __init__(self, data: dict[int, Conversation]) -> None:
        self._data = data

    async def get(self, chat_id: int) -> Conversation | None:
        found = self._data.get(chat_id)
        return copy.deepcopy(found) if found else None

    async def save(self, conversation: Conversation) -> None:
        self._data[conversation.chat_id] = copy.deepcopy(conversation)

    async def clear(self, chat_id: int) -> None:
        self._data.pop(chat_id, None)


class _Requests:
    def __init__(self, data: list[SupportRequest], ids: itertools.count[int]) -> None:
        self._data, self._ids = data, ids

    async def add(self, request: SupportRequest) -> SupportRequest:
        stored = replace(request, id=next(self._ids))
        self._data.append(stored)
        return stored

    async def open_for_customer(self, customer_id: int) -> list[SupportRequest]:
        return [r for r in self._data if r.customer_id == customer_id and r.status == "open"]


class MemoryUnitOfWork:
    """Works on a private copy of the store; `commit` publishes it, exit without commit
    discards it — the same all-or-nothing a database transaction gives."""

    customers: CustomerRepository
    messages: MessageLogRepository
    conversations: ConversationRepository
    requests: SupportRequestRepository

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        self._work = MemoryStore(
            customers=copy.deepcopy(self._store.customers),
            messages=copy.deepcopy(self._store.messages),
            conversations=copy.deepcopy(self._store.conversations),
            requests=copy.deepcopy(self._store.requests),
            ids=self._store.ids,
        )
        self.customers = _Customers(self._work.customers, self._store.ids)
        self.messages = _Messages(self._work.messages, self._store.ids)
        self.conversations = _Conversations(self._work.conversations)
        self.requests = _Requests(self._work.requests, self._store.ids)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self._store.customers = self._work.customers
        self._store.messages = self._work.messages
        self._store.conversations = self._work.conversations
        self._store.requests = self._work.requests
        self.committed = True

    async def rollback(self) -> None:
        await self.__aenter__()


class MemoryUnitOfWorkFactory:
    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)


class RecordingMessenger:
    """Records every message and callback answer; `fail_with` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.callbacks: list[tuple[str, str | None]] = []
        self.menus: dict[str | None, list[tuple[str, str]]] = {}
        self.fail_with: list[DeliveryError] = []
        self._ids = itertools.count(1)

    async def send(self, message: Outgoing) -> Sent:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(message)
        return Sent(chat_id=message.chat_id, message_id=message.edit_message_id or next(self._ids))

    async def answer_callback(self, callback_id: str, text: str | None = None) -> None:
        self.callbacks.append((callback_id, text))

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        self.menus[language_code] = list(commands)

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m.text for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def keys(self) -> list[str]:
        return [m.template_key for m in self.sent]

    def assert_sent(self, key: str) -> Outgoing:
        for message in self.sent:
            if message.template_key == key:
                return message
        raise AssertionError(f"nothing sent with {key!r}; sent: {self.keys()}")


class FixedFaq:
    """A FAQ matcher with canned verdicts per exact text; anything else is no match."""

    def __init__(self, verdicts: dict[str, FaqMatch] | None = None) -> None:
        self.verdicts = verdicts or {}

    def match(self, text: str, locale: str) -> FaqMatch:
        return self.verdicts.get(text, FaqMatch("none", None, 0.0))
