"""The unit of work: one database transaction spanning every repository.

The composition root builds one :class:`SqlUnitOfWorkFactory` and hands it to the core as its
:class:`bot.core.ports.UnitOfWorkFactory`; the core then writes::

    async with uow_factory() as uow:
        customer = await uow.customers.get_by_telegram_id(user_id)
        ...
        await uow.commit()

Leaving the block without ``commit()`` — normally or by an exception — rolls back. A unit of
work is single-use and, like its `AsyncSession`, must not be shared between concurrent tasks.

**One at a time per process on SQLite.** SQLite has one writer, and every unit of work here
begins with ``BEGIN IMMEDIATE`` (:mod:`storage.engine`). Left to SQLite, concurrent units of
work of one process poll for the lock with growing sleeps (``busy_timeout``): under a burst
some starve past the timeout and fail with "database is locked", each holding a pooled
connection meanwhile, while others go first. So on SQLite the factory's units of work take
turns on an asyncio lock, in arrival order, before they open their session: within a process
nobody polls and nobody starves; between processes ``busy_timeout`` still applies. A unit of
work opened inside another in the same task (which SQLite could never grant anyway) does not
wait for the turn its own task holds. PostgreSQL has row locks and needs none of this.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.ports import (
    CampaignRepository,
    ConversationRepository,
    CouponRepository,
    CustomerRecordRepository,
    CustomerRepository,
    CustomerTiers,
    DeskRepository,
    EngagementFactsReader,
    InboxRepository,
    LoyaltyRepository,
    MessageLogRepository,
    NewsRepository,
    OutboxRepository,
    ProfileRepository,
    RatingRepository,
    StaffRepository,
    StaffTaskRepository,
    SupportRequestRepository,
    SurveyRepository,
    TicketRepository,
    TopicRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from storage.campaigns import SqlCampaignRepository
from storage.coupons import SqlCouponRepository
from storage.crypto import PersonalDataCipher
from storage.customers import SqlCustomerRecords, SqlCustomerTiers
from storage.desk import SqlDeskRepository
from storage.engagement import SqlEngagementFacts
from storage.inbox import SqlInboxRepository
from storage.loyalty import SqlLoyaltyRepository
from storage.news import SqlNewsRepository
from storage.outbox import SqlOutboxRepository
from storage.profile import SqlProfileRepository
from storage.ratings import SqlRatingRepository
from storage.repositories import (
    SqlConversationRepository,
    SqlCustomerRepository,
    SqlMessageLogRepository,
    SqlSupportRequestRepository,
)
from storage.staff import SqlStaffRepository
from storage.surveys import SqlSurveyRepository
from storage.tasks import SqlStaffTaskRepository
from storage.tickets import SqlTicketRepository
from storage.topics import SqlTopicRepository

logger = logging.getLogger(__name__)

_HOLDING_TURN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "rapport_uow_turn", default=False
)
"""Whether the current task holds its factory's turn (see the module docstring)."""


class _Turns:
    """The factory's lock, made for the running event loop at first use."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions as the unit of work needs them: ``expire_on_commit=False``, so values read
    before a commit stay readable after it without a new query."""
    return async_sessionmaker(engine, expire_on_commit=False)


class SqlUnitOfWork:
    """:class:`bot.core.ports.UnitOfWork` over one `AsyncSession`.

    The repositories exist only inside ``async with``; the session (and with it the database
    connection) is opened on entry and closed on exit.
    """

    customers: CustomerRepository
    messages: MessageLogRepository
    conversations: ConversationRepository
    requests: SupportRequestRepository
    tickets: TicketRepository
    staff: StaffRepository
    desk: DeskRepository
    topics: TopicRepository
    ratings: RatingRepository
    inbox: InboxRepository
    outbox: OutboxRepository
    records: CustomerRecordRepository
    tiers: CustomerTiers
    engagement: EngagementFactsReader
    coupons: CouponRepository
    loyalty: LoyaltyRepository
    news: NewsRepository
    campaigns: CampaignRepository
    tasks: StaffTaskRepository
    surveys: SurveyRepository
    profile: ProfileRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        cipher: PersonalDataCipher | None = None,
        turns: _Turns | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._cipher = cipher
        self._session: AsyncSession | None = None
        self._turns = turns
        self._held: asyncio.Lock | None = None
        self._token: contextvars.Token[bool] | None = None

    @property
    def session(self) -> AsyncSession:
        """The open session, for storage-internal code and tests; the core never uses it."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        if self._turns is not None and not _HOLDING_TURN.get():
            lock = self._turns.lock()
            await lock.acquire()
            self._held, self._token = lock, _HOLDING_TURN.set(True)
        session = self._session_factory()
        self._session = session
        self.customers = SqlCustomerRepository(session)
        self.messages = SqlMessageLogRepository(session)
        self.conversations = SqlConversationRepository(session)
        self.requests = SqlSupportRequestRepository(session)
        self.records = SqlCustomerRecords(session, self._cipher)
        self.tiers = SqlCustomerTiers(session)
        self.tickets = SqlTicketRepository(session)
        self.staff = SqlStaffRepository(session)
        self.desk = SqlDeskRepository(session)
        self.topics = SqlTopicRepository(session)
        self.ratings = SqlRatingRepository(session)
        self.inbox = SqlInboxRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.engagement = SqlEngagementFacts(session, self._cipher)
        self.coupons = SqlCouponRepository(session)
        self.loyalty = SqlLoyaltyRepository(session)
        self.news = SqlNewsRepository(session)
        self.campaigns = SqlCampaignRepository(session)
        self.tasks = SqlStaffTaskRepository(session)
        self.surveys = SqlSurveyRepository(session)
        self.profile = SqlProfileRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if session.in_transaction():
                logger.debug("unit of work closed without commit; rolling back")
            await session.rollback()
        finally:
            try:
                await session.close()
            finally:
                self._give_turn_back()

    def _give_turn_back(self) -> None:
        if self._held is not None:
            if self._token is not None:
                _HOLDING_TURN.reset(self._token)
            self._held.release()
            self._held, self._token = None, None

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class SqlUnitOfWorkFactory:
    """:class:`bot.core.ports.UnitOfWorkFactory`: each call returns a new, unopened
    :class:`SqlUnitOfWork` over the same sessionmaker (and hence the same engine)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        cipher: PersonalDataCipher | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._cipher = cipher
        bind = session_factory.kw.get("bind")
        on_sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._turns = _Turns() if on_sqlite else None

    @classmethod
    def from_engine(
        cls, engine: AsyncEngine, cipher: PersonalDataCipher | None = None
    ) -> SqlUnitOfWorkFactory:
        return cls(make_sessionmaker(engine), cipher)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._session_factory, self._cipher, self._turns)


if TYPE_CHECKING:  # mypy proves the classes satisfy the core's Protocols

    def _conforms(factory: SqlUnitOfWorkFactory, session: AsyncSession) -> None:
        _factory: UnitOfWorkFactory = factory
        _uow: UnitOfWork = factory()
        _customers: CustomerRepository = SqlCustomerRepository(session)
        _messages: MessageLogRepository = SqlMessageLogRepository(session)
        _conversations: ConversationRepository = SqlConversationRepository(session)
        _requests: SupportRequestRepository = SqlSupportRequestRepository(session)
        _records: CustomerRecordRepository = SqlCustomerRecords(session, None)
        _tiers: CustomerTiers = SqlCustomerTiers(session)
        _tickets: TicketRepository = SqlTicketRepository(session)
        _staff: StaffRepository = SqlStaffRepository(session)
        _desk: DeskRepository = SqlDeskRepository(session)
        _topics: TopicRepository = SqlTopicRepository(session)
        _ratings: RatingRepository = SqlRatingRepository(session)
        _inbox: InboxRepository = SqlInboxRepository(session)
        _outbox: OutboxRepository = SqlOutboxRepository(session)
        _engagement: EngagementFactsReader = SqlEngagementFacts(session, None)
        _coupons: CouponRepository = SqlCouponRepository(session)
        _loyalty: LoyaltyRepository = SqlLoyaltyRepository(session)
        _news: NewsRepository = SqlNewsRepository(session)
        _tasks: StaffTaskRepository = SqlStaffTaskRepository(session)
        _surveys: SurveyRepository = SqlSurveyRepository(session)
        _profile: ProfileRepository = SqlProfileRepository(session)
