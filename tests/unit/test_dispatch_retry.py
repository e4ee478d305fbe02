"""A busy database delays an update, never drops or reorders it (issue #9).

The dispatcher tries a failed update again itself, holding its chat's turn, so the chat's
later updates wait behind it and their answers keep their order; past its attempts the
update stays in the inbox for the next start. Failures are simulated as a locked database
would show them: a commit that raises.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bot.core.dispatch import Dispatcher
from bot.core.ports import InboundUpdate
from bot.handlers.routes import ROUTING
from tests.fakes import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from tests.unit.conftest import ALICE, FakeBot


class LockedCommits(MemoryUnitOfWorkFactory):
    """The in-memory unit of work whose next `failures` commits raise."""

    def __init__(self, inner: MemoryUnitOfWorkFactory, failures: int) -> None:
        super().__init__(inner.store)
        self.failures = failures

    def __call__(self) -> MemoryUnitOfWork:
        uow = super().__call__()
        commit = uow.commit

        async def flaky(*args: Any, **kwargs: Any) -> None:
            if self.failures > 0:
                self.failures -= 1
                raise RuntimeError("database is locked")
            await commit(*args, **kwargs)

        uow.commit = flaky  # type: ignore[method-assign]
        return uow


def locked(bot: FakeBot, failures: int) -> LockedCommits:
    factory = LockedCommits(bot.uow, failures)
    bot.deps = replace(bot.deps, uow=factory)
    bot.dispatcher = Dispatcher(bot.deps, ROUTING)
    return factory


async def accepted(bot: FakeBot, text: str) -> Any:
    """An update recorded in the inbox, as an adapter records each batch before handling."""
    msg = bot.incoming(ALICE, text=text, command=text.lstrip("/"))
    await bot.dispatcher.accept([InboundUpdate(msg.update_id, msg.chat_id, {})])
    return msg


async def test_a_failed_update_is_retried_before_its_chats_next_one(bot: FakeBot) -> None:
    await bot.say(ALICE, "/start")
    before = len(bot.messenger.sent)
    factory = locked(bot, failures=0)
    first, second = await accepted(bot, "/m1"), await accepted(bot, "/m2")
    factory.failures = 2  # the first update's accept fails twice
    await asyncio.gather(bot.feed(first), bot.feed(second))
    answers = [t for t in bot.messenger.texts(ALICE.id)[before:] if "/m" in t]
    assert ["/m1" in answers[0], "/m2" in answers[1]] == [True, True], answers
    assert len(answers) == 2
    assert bot.clock.slept[:2] == [0.5, 1.0]  # the handling policy's waits
    async with bot.deps.uow() as uow:
        assert not await uow.inbox.is_waiting(first.update_id)
        assert not await uow.inbox.is_waiting(second.update_id)


async def test_an_update_that_always_fails_stays_in_the_inbox(bot: FakeBot) -> None:
    factory = locked(bot, failures=0)
    msg = await accepted(bot, "/m1")
    factory.failures = 10**6
    with pytest.raises(RuntimeError, match="locked"):
        await bot.feed(msg)
    attempts = bot.deps.policies.handling.attempts
    assert len(bot.clock.slept) == attempts - 1
    factory.failures = 0
    async with bot.deps.uow() as uow:
        assert await uow.inbox.is_waiting(msg.update_id)
    assert bot.messenger.sent == []
