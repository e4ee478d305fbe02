"""The outbox on a real SQLite file: two senders, each with its own engine (as two processes
have), drain one database and send every row once; enqueueing a key twice, even from two
transactions at once, writes one row and leaves the caller's transaction intact; and the
``rapport outbox`` commands report and retry."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.delivery import Delivery
from bot.core.deps import Deps
from bot.core.errors import BadRequest
from bot.core.messages import Outgoing, Reply, Sent
from bot.core.outbox import Lane, OutboxMessage, OutboxPolicy, OutboxSender, enqueue
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FixedFaq, FrozenClock, RecordingMessenger
from tests.unit.conftest import language, triage

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = OutboxPolicy(batch_size=10, poll_seconds=0.01, claim_timeout_seconds=60)
runner = CliRunner()


class SlowMessenger(RecordingMessenger):
    """A send takes a moment, as an HTTP call does, so the two senders interleave. A send
    first sets `sets` (this sender has begun) and then holds until `wait_for` is set (the other
    one has begun; at most 15 s). Two senders so paired each hold what they claimed until both
    have claimed something: a sender holds at most two batches, so neither can take every row
    before the other has claimed any, however loaded the machine and whichever starts first."""

    def __init__(
        self, wait_for: asyncio.Event | None = None, sets: asyncio.Event | None = None
    ) -> None:
        super().__init__()
        self._wait_for, self._sets = wait_for, sets

    async def send(self, message: Outgoing) -> Sent:
        if self._sets is not None:
            self._sets.set()
        if self._wait_for is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_for.wait(), 15)
        await asyncio.sleep(0.001)
        return await super().send(message)


@pytest.fixture
async def url(database_url: str) -> AsyncIterator[str]:
    url = database_url
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    await engine.dispose()
    yield url


ENGINES: list[AsyncEngine] = []


@pytest.fixture(autouse=True)
async def _dispose() -> AsyncIterator[None]:
    yield
    while ENGINES:
        await ENGINES.pop().dispose()


def deps_over(url: str, clock: FrozenClock, messenger: RecordingMessenger) -> Deps:
    """Deps over an engine of their own, as another process would have."""
    ENGINES.append(make_engine(url))
    return Deps(
        policies=policies(Settings()),
        uow=SqlUnitOfWorkFactory.from_engine(ENGINES[-1]),
        renderer=language(),
        faq=FixedFaq(),
        triage=triage(),
        clock=clock,
        messenger=messenger,
    )


def notice(chat_id: int) -> Reply:
    return Reply("staff.chat_unreachable", {"chat": chat_id, "problem": "gone"}, chat_id=chat_id)


async def queue(deps: Deps, key: str, chat_id: int) -> int | None:
    async with deps.uow() as uow:
        row = await enqueue(
            uow, deps, notice(chat_id), key=key, lane=Lane.SERVICE, locale="en", now=T0
        )
        await uow.commit()
    return row


async def test_two_senders_on_one_database_send_each_row_once(url: str) -> None:
    clock = FrozenClock(T0)
    one_sends, two_sends = asyncio.Event(), asyncio.Event()
    one_messenger = SlowMessenger(sets=one_sends, wait_for=two_sends)
    two_messenger = SlowMessenger(sets=two_sends, wait_for=one_sends)
    one = deps_over(url, clock, one_messenger)
    two = deps_over(url, clock, two_messenger)
    for n in range(60):
        await queue(one, f"k{n}", -1000 - n)
    senders = [
        OutboxSender(one, Delivery(one), POLICY, "one:1"),
        OutboxSender(two, Delivery(two), POLICY, "two:2"),
    ]
    tasks = [asyncio.create_task(s.run()) for s in senders]

    async def all_sent() -> bool:
        async with one.uow() as uow:
            summary = await uow.outbox.summary()
        return summary.counts == {("service", "sent"): 60}

    for _ in range(2000):
        if await all_sent():
            break
        await asyncio.sleep(0.01)
    for s in senders:
        s.stop()
    await asyncio.gather(*tasks)
    sends = Counter(m.chat_id for m in one_messenger.sent + two_messenger.sent)
    assert sends == Counter({-1000 - n: 1 for n in range(60)})
    assert one_messenger.sent and two_messenger.sent  # both took part
    async with one.uow() as uow:
        logged = [m for n in range(60) for m in await uow.messages.for_chat(-1000 - n)]
    assert len(logged) == 60


async def test_a_key_is_queued_once_and_the_callers_transaction_survives(url: str) -> None:
    deps = deps_over(url, FrozenClock(T0), RecordingMessenger())
    assert await queue(deps, "sla:1:warn_first_response:-5", -5) is not None
    async with deps.uow() as uow:
        again = await enqueue(
            uow,
            deps,
            notice(-5),
            key="sla:1:warn_first_response:-5",
            lane=Lane.SERVICE,
            locale="en",
            now=T0,
        )
        other = await enqueue(
            uow, deps, notice(-6), key="sla:1:x:-6", lane=Lane.SERVICE, locale="en", now=T0
        )
        await uow.commit()  # the duplicate did not spoil the transaction
    assert again is None and other is not None

    async def racer(n: int) -> int | None:
        return await queue(deps_over(url, FrozenClock(T0), RecordingMessenger()), "race", n)

    results = await asyncio.gather(*(racer(n) for n in range(5)))
    assert sum(r is not None for r in results) == 1
    async with deps.uow() as uow:
        assert sum((await uow.outbox.summary()).counts.values()) == 3


async def test_a_batch_writes_only_its_new_keys_in_one_go(url: str) -> None:
    """``enqueue_many``: keys already stored (or twice in the batch) are skipped without
    failing the caller's transaction; a second run of the same batch writes nothing."""
    deps = deps_over(url, FrozenClock(T0), RecordingMessenger())
    assert await queue(deps, "campaign:1:1:2", -2) is not None

    def item(n: int) -> OutboxMessage:
        message = Outgoing(chat_id=-n, text=f"spring <b>{n}</b>", about_customer_id=n)
        return OutboxMessage(f"campaign:1:1:{n}", Lane.PROACTIVE, message, T0, T0)

    batch = [item(n) for n in (1, 2, 3, 4)] + [item(3)]
    async with deps.uow() as uow:
        written = await uow.outbox.enqueue_many(batch)
        other = await uow.outbox.enqueue(item(9))  # the transaction carries on
        await uow.commit()
    assert sorted(written) == ["campaign:1:1:1", "campaign:1:1:3", "campaign:1:1:4"]
    assert other is not None
    async with deps.uow() as uow:
        assert await uow.outbox.enqueue_many(batch) == []
        assert await uow.outbox.enqueue_many([]) == []
        await uow.commit()
        summary = await uow.outbox.summary()
        stored = [await uow.outbox.get(i) for i in range(1, 20)]  # ids a conflict used too
    assert summary.counts == {("service", "pending"): 1, ("proactive", "pending"): 4}
    by_key = {row.key: row for row in stored if row is not None}
    assert by_key["campaign:1:1:3"].message == item(3).message  # stored as given
    assert by_key["campaign:1:1:2"].lane is Lane.SERVICE  # the first writer's row stays


def test_the_outbox_commands_report_and_retry(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_STAFF_CHAT_ID", "-7")
    monkeypatch.setenv("RAPPORT_MANAGER_CHAT_ID", "-8")

    async def seed() -> int:
        messenger = RecordingMessenger()
        deps = deps_over(url, FrozenClock(T0), messenger)
        row = await queue(deps, "k1", -7)
        await queue(deps, "k2", -8)
        messenger.fail_with = [BadRequest("Bad Request: can't parse entities")]
        sender = OutboxSender(deps, Delivery(deps), replace(POLICY, batch_size=1), "w:1")
        await sender.drain_once()
        while ENGINES:
            await ENGINES.pop().dispose()
        assert row is not None
        return row

    failed = asyncio.run(seed())
    status = runner.invoke(app, ["outbox", "status", "--json"])
    assert status.exit_code == 0, status.output
    shown = json.loads(status.output)
    assert shown["lanes"] == {"service": {"failed": 1, "pending": 1}}
    assert shown["oldest_pending"] == T0.isoformat()
    assert shown["last_errors"] == [
        {"id": failed, "state": "failed", "error": "Bad Request: can't parse entities"}
    ]
    assert shown["failing_staff_chats"] == [  # -8's row is pending, never tried: not failing
        {
            "chat_id": -7,
            "role": "staff group",
            "rows": 1,
            "last_error": "Bad Request: can't parse entities",
        }
    ]
    plain = runner.invoke(app, ["outbox", "status"])
    assert plain.exit_code == 0 and "can't parse entities" in plain.output
    assert "staff chat -7 (staff group) cannot be reached: 1 message(s) failing" in plain.output
    assert runner.invoke(app, ["outbox", "retry"]).exit_code == 2
    assert runner.invoke(app, ["outbox", "retry", "999"]).exit_code == 2
    one = runner.invoke(app, ["outbox", "retry", str(failed)])
    assert one.exit_code == 0 and "1 message(s)" in one.output
    again = json.loads(runner.invoke(app, ["outbox", "status", "--json"]).output)
    assert again["lanes"] == {"service": {"pending": 2}}
    assert runner.invoke(app, ["outbox", "retry", "--failed"]).output.startswith("0 message")
