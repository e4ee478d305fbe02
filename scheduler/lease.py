"""A leader lease in the database: of the processes sharing it, only the holder runs jobs.

One row per lease name in ``scheduler_lease`` (:class:`storage.tables.scheduling.
SchedulerLeaseRow`): ``holder`` keeps it until ``expires_at`` and must renew it before then;
after that anyone may take it. Every change is a single conditional statement whose row count
says who won, so two processes racing for the lease cannot both win, on SQLite or PostgreSQL:

* take: ``UPDATE … SET holder=:me … WHERE name=:n AND (holder=:me OR expires_at < :now)``;
  if no row changed and no row exists yet, ``INSERT`` it (a concurrent ``INSERT`` loses on the
  primary key: ``IntegrityError`` means someone else got it);
* renew: ``UPDATE … SET expires_at=:now+ttl WHERE name=:n AND holder=:me``;
* release: ``DELETE … WHERE name=:n AND holder=:me`` (a released lease is free at once).

Times come from the holders' clocks, so the hosts sharing a database need synchronised clocks
(NTP); skew must stay well below the lease's TTL. A lease is not a lock: a process frozen for
longer than the TTL may still believe it leads for a moment after it wakes up. The scheduler
steps down as soon as a renewal fails, and jobs are idempotent for the rest.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.clock import require_aware
from storage.columns import UTCDateTime
from storage.engine import read_only
from storage.tables.scheduling import SchedulerLeaseRow

logger = logging.getLogger(__name__)

#: The lease the scheduler's job runner takes.
DEFAULT_LEASE = "scheduler"

_table = SchedulerLeaseRow.__table__  # type: ignore[attr-defined]


def new_holder_id() -> str:
    """An id for this process as a lease holder: ``hostname:pid:random`` (the random part
    tells apart two holders in one process, and a restarted process that reuses a pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """One process's handle on the lease `name` in the database of `engine`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl_seconds: float,
        holder: str | None = None,
        name: str = DEFAULT_LEASE,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("a lease needs a positive ttl")
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_seconds)
        self.holder = holder or new_holder_id()
        self.name = name

    async def try_acquire(self, now: datetime) -> bool:
        """Takes the lease if it is free, expired or already ours (then renews it); True if
        this process holds it afterwards."""
        now = require_aware(now, "lease time")
        expires = now + self.ttl
        moment = bindparam("now", now, type_=UTCDateTime())
        take = (
            update(_table)
            .where(
                and_(
                    _table.c.name == self.name,
                    or_(_table.c.holder == self.holder, _table.c.expires_at < moment),
                )
            )
            .values(
                holder=self.holder,
                acquired_at=case(
                    (_table.c.holder == self.holder, _table.c.acquired_at), else_=moment
                ),
                expires_at=expires,
            )
        )
        async with self.engine.begin() as conn:
            if (await conn.execute(take)).rowcount == 1:
                return True
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(_table).values(
                        name=self.name, holder=self.holder, acquired_at=now, expires_at=expires
                    )
                )
        except IntegrityError:
            return False  # the row exists: someone else holds an unexpired lease
        return True

    async def renew(self, now: datetime) -> bool:
        """Extends our lease to ``now + ttl``; False if it is no longer ours."""
        now = require_aware(now, "lease time")
        statement = (
            update(_table)
            .where(and_(_table.c.name == self.name, _table.c.holder == self.holder))
            .values(expires_at=now + self.ttl)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def release(self) -> None:
        """Gives the lease up (if ours), so another process can take it at once."""
        statement = delete(_table).where(
            and_(_table.c.name == self.name, _table.c.holder == self.holder)
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def current_holder(self, now: datetime) -> str | None:
        """Who holds an unexpired lease at `now` (diagnostics and tests)."""
        now = require_aware(now, "lease time")
        query = _table.select().where(_table.c.name == self.name)
        async with read_only(self.engine).connect() as conn:  # a probe: never waits for writers
            row = (await conn.execute(query)).first()
        if row is None or row.expires_at < now:
            return None
        return str(row.holder)
