"""The outbox survives SIGKILL (issue #9): 2,000 queued messages, a real ``rapport run`` killed
half-way through sending them, and a restart on the same database.

Every recipient ends with its message, and a message reaches anyone twice only if its row was
``sending`` when the process died (claimed, perhaps delivered, not yet marked sent): the test
reads those rows from the database right after the kill. They are at most two batches — the
``RAPPORT_OUTBOX_BATCH_SIZE`` rows in flight and one batch claimed ahead, which waits unsent —
and at most one batch of them can arrive twice. The restarted process claims them again once
``RAPPORT_OUTBOX_CLAIM_TIMEOUT_SECONDS`` (2 s here) have passed since their claim.

Flood limits are loosened on both sides (300 messages/s) so the 2,000 sends take seconds.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.messages import Outgoing
from bot.core.outbox import Lane, OutboxMessage
from sandbox import Emulator, FloodLimits, SimUser
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.bot_database import BOT_DATABASE, bot_database_url
from tests.e2e.conftest import TOKEN
from tests.e2e.launcher import Launcher
from tests.e2e.test_crash_recovery import IDLE, BotProcess, until

pytestmark = [pytest.mark.e2e, BOT_DATABASE]

ROWS = 2000
BATCH = 50
LIMITS = FloodLimits(per_chat_rate=50.0, per_chat_burst=50, global_rate=300.0, global_burst=300)
EXTRA_ENV = {
    "RAPPORT_GLOBAL_MESSAGES_PER_SECOND": "300",
    "RAPPORT_OUTBOX_BATCH_SIZE": str(BATCH),
    "RAPPORT_OUTBOX_POLL_SECONDS": "0.1",
    "RAPPORT_OUTBOX_CLAIM_TIMEOUT_SECONDS": "2",
}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, limits=LIMITS) as emulator:
        yield emulator


class OutboxBot(BotProcess):
    """``rapport run`` (its outbox settings come from the environment), and what its
    database says about the outbox."""

    def in_flight(self) -> set[int]:
        return {row[0] for row in self.rows("SELECT chat_id FROM outbox WHERE state = 'sending'")}

    def states(self) -> Counter[str]:
        return Counter(row[0] for row in self.rows("SELECT state FROM outbox"))


async def seed(database: Path, users: list[SimUser]) -> None:
    url = await bot_database_url(database)
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    now = datetime.now(UTC)
    async with SqlUnitOfWorkFactory.from_engine(engine)() as uow:
        for n, user in enumerate(users):
            message = Outgoing(chat_id=user.id, text=f"outbox row {n}", template_key="test")
            await uow.outbox.enqueue(OutboxMessage(f"test:{n}", Lane.PROACTIVE, message, now, now))
        await uow.commit()
    await engine.dispose()


def copies(emu: Emulator, users: list[SimUser]) -> Counter[int]:
    seen: Counter[int] = Counter()
    for user in users:
        seen[user.id] = sum(
            1 for m in emu.bot_messages(user.id) if m.get("text", "").startswith("outbox row")
        )
    return seen


class Reached:
    """The chats that received a message so far, counted from the emulator's request log as
    it grows (cheap enough to poll: :func:`copies` reads every chat's messages)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu, self.read, self.chats = emu, 0, set[str]()

    def __len__(self) -> int:
        requests = self.emu.requests
        for request in requests[self.read :]:
            if request.method == "sendMessage" and request.ok:
                self.chats.add(str(request.params.get("chat_id")))
        self.read = len(requests)
        return len(self.chats)


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_sigkill_half_way_through_the_outbox_loses_none_and_repeats_only_in_flight(
    framework: Framework,
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    launcher: Launcher,
) -> None:
    for name, value in EXTRA_ENV.items():  # the subprocess inherits them
        monkeypatch.setenv(name, value)
    users = [emu.add_user(f"U{n:04d}", language_code="en") for n in range(ROWS)]
    bot = OutboxBot(framework, emu, tmp_path, launcher)
    await seed(bot.database, users)
    try:
        await bot.start()
        reached = Reached(emu)
        await until(
            lambda: len(reached) >= ROWS // 2,
            IDLE,
            "half the messages",
            bot,
        )
        await bot.signal(signal.SIGKILL)
        await asyncio.sleep(0.2)  # a request the dying process had sent completes
        exposed = bot.in_flight()
        at_kill = copies(emu, users)
        delivered = sum(1 for n in at_kill.values() if n)
        assert delivered < ROWS, "the kill came too late to prove anything"
        assert len(exposed) <= 2 * BATCH

        await bot.start()
        await until(lambda: bot.states() == Counter({"sent": ROWS}), IDLE, "every row sent", bot)
        await asyncio.sleep(0.5)  # late duplicates, if any, would arrive now
        assert await bot.signal(signal.SIGTERM) == 0, bot.logs()
    finally:
        bot.kill_quietly()
    final = copies(emu, users)
    duplicates = {chat for chat, n in final.items() if n > 1}
    print(
        f"{framework}: {ROWS} rows, {delivered} delivered before the kill, in flight at the "
        f"kill {len(exposed)}, duplicates {len(duplicates)}"
    )
    assert all(n >= 1 for n in final.values()), "a message was lost"
    assert duplicates <= exposed, bot.logs()
    assert len(duplicates) <= BATCH, "more than the rows in flight arrived twice"
    assert max(final.values()) <= 2
