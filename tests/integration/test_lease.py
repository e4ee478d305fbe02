"""The leader lease (:mod:`scheduler.lease`) on real SQLite files: each "process" has its own
engine on the same database, and the lease's times are given explicitly (no sleeping)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.lease import Lease, new_holder_id
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.postgres_server import stored_utc

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TTL = 30.0

EngineFactory = Callable[[], Awaitable[AsyncEngine]]


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[EngineFactory]:
    """Makes engines on one migrated database, as separate processes would."""
    url = database_url
    await upgrade(url)
    made: list[AsyncEngine] = []

    async def make() -> AsyncEngine:
        made.append(make_engine(url))
        return made[-1]

    yield make
    for engine in made:
        await engine.dispose()


async def two_leases(engines: EngineFactory) -> tuple[Lease, Lease]:
    return (
        Lease(await engines(), ttl_seconds=TTL, holder="host-a:1:aa"),
        Lease(await engines(), ttl_seconds=TTL, holder="host-b:2:bb"),
    )


async def test_acquire_renew_expire_steal(engines: EngineFactory) -> None:
    a, b = await two_leases(engines)
    assert await a.current_holder(T0) is None

    assert await a.try_acquire(T0)  # nobody had it: INSERT
    assert not await b.try_acquire(T0 + timedelta(seconds=1))
    assert await a.current_holder(T0) == a.holder
    assert await a.try_acquire(T0 + timedelta(seconds=5))  # ours already: extended

    assert await a.renew(T0 + timedelta(seconds=20))  # now valid until T0 + 50 s
    assert not await b.try_acquire(T0 + timedelta(seconds=49))
    assert not await b.renew(T0 + timedelta(seconds=49))  # b never held it

    # a stops renewing: once the lease has expired, b takes it over.
    later = T0 + timedelta(seconds=51)
    assert await a.current_holder(later) is None
    assert await b.try_acquire(later)
    assert await b.current_holder(later) == b.holder
    assert not await a.renew(later + timedelta(seconds=1))  # stolen: a must step down
    assert not await a.try_acquire(later + timedelta(seconds=1))
    assert await b.renew(later + timedelta(seconds=10))


async def test_acquired_at_changes_only_with_the_holder(engines: EngineFactory) -> None:
    a, b = await two_leases(engines)
    engine = a.engine

    async def row() -> tuple[str, datetime, datetime]:
        """The raw row, read past the models: SQLite keeps the times as naive UTC text,
        PostgreSQL as ``timestamp with time zone``."""
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql(
                "SELECT holder, acquired_at, expires_at FROM scheduler_lease"
            )
            found = tuple(result.one())
        return str(found[0]), stored_utc(found[1]), stored_utc(found[2])

    assert await a.try_acquire(T0)
    assert await a.try_acquire(T0 + timedelta(seconds=10))
    holder, acquired, expires = await row()
    assert holder == a.holder
    assert acquired == T0
    assert expires == T0 + timedelta(seconds=40)

    assert await b.try_acquire(T0 + timedelta(minutes=5))
    holder, acquired, _ = await row()
    assert (holder, acquired) == (b.holder, T0 + timedelta(minutes=5))


async def test_a_released_lease_can_be_taken_at_once(engines: EngineFactory) -> None:
    a, b = await two_leases(engines)
    assert await a.try_acquire(T0)
    await b.release()  # not b's: nothing happens
    assert not await b.try_acquire(T0 + timedelta(seconds=1))
    await a.release()
    assert await a.current_holder(T0) is None
    assert await b.try_acquire(T0 + timedelta(seconds=1))
    assert not await a.renew(T0 + timedelta(seconds=2))
    await a.release()  # released twice: no error
    assert await b.current_holder(T0 + timedelta(seconds=2)) == b.holder


@pytest.mark.parametrize("existing", ["no row", "expired row"], ids=["insert", "update"])
async def test_racing_processes_never_both_win(engines: EngineFactory, existing: str) -> None:
    """Several processes try at the same moment, over and over: exactly one wins each round,
    whether the race is on the INSERT (no row yet) or the conditional UPDATE (expired)."""
    leases = [
        Lease(await engines(), ttl_seconds=TTL, holder=f"host:{n}:{n:08x}") for n in range(4)
    ]
    now = T0
    if existing == "expired row":
        assert await leases[0].try_acquire(now - timedelta(hours=1))
    for _ in range(5):
        won = await asyncio.gather(*(lease.try_acquire(now) for lease in leases))
        assert sum(won) == 1
        winner = leases[won.index(True)]
        assert await winner.current_holder(now) == winner.holder
        now += timedelta(seconds=TTL + 1)  # everyone's lease has lapsed for the next round


async def test_naive_times_are_refused(engines: EngineFactory) -> None:
    lease = Lease(await engines(), ttl_seconds=TTL)
    with pytest.raises(ValueError, match="naive"):
        await lease.try_acquire(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="ttl"):
        Lease(lease.engine, ttl_seconds=0)


def test_holder_ids_name_host_and_process_and_are_unique() -> None:
    first, second = new_holder_id(), new_holder_id()
    host, pid, _ = first.rsplit(":", 2)
    assert (host, pid) == (socket.gethostname(), str(os.getpid()))
    assert first != second
