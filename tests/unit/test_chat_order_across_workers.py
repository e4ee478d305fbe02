"""A chat's answers keep their order across workers (issue #13).

Two dispatchers on one database stand for two webhook workers: each handles the updates
Telegram happened to send it. When the newer update of a chat reaches its worker first, that
worker waits until the older one, recorded and being handled elsewhere, is done; an older
update whose worker died holds it up only for ``handling.order_wait_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from bot.core.dispatch import Dispatcher
from bot.core.messages import Incoming
from bot.core.ports import InboundUpdate
from bot.handlers.routes import ROUTING
from tests.fakes import FrozenClock
from tests.unit.conftest import ALICE, FakeBot


class TickingClock(FrozenClock):
    """A frozen clock whose sleeps also let other tasks run (the other worker)."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        await asyncio.sleep(0)


def two_workers(bot: FakeBot, patience: float | None = None) -> tuple[Dispatcher, Dispatcher]:
    """Two dispatchers on the bot's store; `patience` replaces ``order_wait_seconds``."""
    deps = replace(bot.deps, clock=TickingClock())
    if patience is not None:
        handling = replace(deps.policies.handling, order_wait_seconds=patience)
        deps = replace(deps, policies=replace(deps.policies, handling=handling))
    return Dispatcher(deps, ROUTING, worker="a"), Dispatcher(deps, ROUTING, worker="b")


async def recorded(bot: FakeBot, worker: Dispatcher, text: str) -> Incoming:
    msg = bot.incoming(ALICE, text=text, command=text.lstrip("/"))
    await worker.accept([InboundUpdate(msg.update_id, msg.chat_id, {})])
    return msg


def answered(bot: FakeBot, before: int) -> list[str]:
    return [t for t in bot.messenger.texts(ALICE.id)[before:] if "/m" in t]


async def test_the_newer_update_waits_for_the_older_one_handled_by_another_worker(
    bot: FakeBot,
) -> None:
    await bot.say(ALICE, "/start")
    before = len(bot.messenger.sent)
    a, b = two_workers(bot, patience=10**9)  # virtual time flies: only the order counts here
    first, second = await recorded(bot, a, "/m1"), await recorded(bot, a, "/m2")
    newer = asyncio.create_task(b.dispatch(second))  # reaches worker b first
    for _ in range(50):
        await asyncio.sleep(0)
    assert answered(bot, before) == []  # b waits for /m1
    await a.dispatch(first)
    await newer
    answers = answered(bot, before)
    assert len(answers) == 2 and "/m1" in answers[0] and "/m2" in answers[1], answers


async def test_an_older_update_nobody_handles_holds_the_chat_up_only_so_long(
    bot: FakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say(ALICE, "/start")
    before = len(bot.messenger.sent)
    a, b = two_workers(bot)
    orphan = await recorded(bot, a, "/m1")  # its worker died after recording it
    second = await recorded(bot, a, "/m2")
    with caplog.at_level(logging.WARNING):
        await b.dispatch(second)
    assert answered(bot, before)[0].count("/m2") == 1
    waited = sum(b.deps.clock.slept)  # type: ignore[attr-defined]
    limit = b.deps.policies.handling.order_wait_seconds
    assert limit <= waited < limit + 1.5
    assert f"went ahead of older update(s) [{orphan.update_id}]" in caplog.text


async def test_one_worker_never_waits_for_its_own_older_updates(bot: FakeBot) -> None:
    await bot.say(ALICE, "/start")
    before = len(bot.messenger.sent)
    a, _ = two_workers(bot)
    first, second = await recorded(bot, a, "/m1"), await recorded(bot, a, "/m2")
    await asyncio.gather(a.dispatch(first), a.dispatch(second))
    assert a.deps.clock.slept == []  # type: ignore[attr-defined]
    assert len(answered(bot, before)) == 2
