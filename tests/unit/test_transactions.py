"""How many units of work (transactions) an ordinary update costs.

Every database round trip of the bot goes through ``deps.uow()``, so counting the units of
work opened while one update is handled counts its transactions. An FAQ answer — the most
common thing the bot does — must take at most four: accept (dedupe, customer, inbound
message, routing facts), the use case's own write if it has one, the outbox (the answer
written down and the update marked handled, before anything is sent), and the delivery
record (the row marked sent and the message logged).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.core.dispatch import Dispatcher
from bot.core.ports import FaqMatch
from bot.handlers.routes import ROUTING
from tests.fakes import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from tests.unit.conftest import ALICE, FakeBot, any_faq_id

QUESTION = "How long does delivery take?"


class CountingUnitOfWorkFactory(MemoryUnitOfWorkFactory):
    """The in-memory unit of work, counting how many are opened and how many commit."""

    def __init__(self, inner: MemoryUnitOfWorkFactory) -> None:
        super().__init__(inner.store)
        self.opened = 0
        self.commits = 0

    def __call__(self) -> MemoryUnitOfWork:
        self.opened += 1
        uow = super().__call__()
        commit = uow.commit

        async def counted_commit(*args: Any, **kwargs: Any) -> None:
            self.commits += 1
            await commit(*args, **kwargs)

        uow.commit = counted_commit  # type: ignore[method-assign]
        return uow


def counting(bot: FakeBot) -> CountingUnitOfWorkFactory:
    counter = CountingUnitOfWorkFactory(bot.uow)
    bot.deps = replace(bot.deps, uow=counter)
    bot.dispatcher = Dispatcher(bot.deps, ROUTING)
    return counter


@pytest.fixture
def faq_bot(bot: FakeBot) -> FakeBot:
    entry = any_faq_id()
    bot.faq.verdicts[QUESTION] = FaqMatch("answer", entry, 95.0, "en")
    bot.faq.verdicts["invoice"] = FaqMatch("confirm", entry, 60.0, "en")
    return bot


async def test_an_faq_answer_takes_three_transactions(faq_bot: FakeBot) -> None:
    await faq_bot.say(ALICE, "/start")  # the customer exists already, as most do
    counter = counting(faq_bot)
    await faq_bot.say(ALICE, QUESTION)
    assert faq_bot.messenger.template_keys()[-1] == "faq.reply"
    assert (counter.opened, counter.commits) == (3, 3)


async def test_an_faq_answer_that_ends_a_dialogue_takes_four(faq_bot: FakeBot) -> None:
    await faq_bot.say(ALICE, "invoice")  # "Do you mean …?" leaves a dialogue open
    counter = counting(faq_bot)
    await faq_bot.say(ALICE, QUESTION)
    assert faq_bot.messenger.template_keys()[-1] == "faq.reply"
    assert (counter.opened, counter.commits) == (4, 4)
    assert faq_bot.uow.store.conversations == {}


async def test_a_first_message_from_a_new_customer_is_no_dearer(faq_bot: FakeBot) -> None:
    counter = counting(faq_bot)
    await faq_bot.say(ALICE, QUESTION)
    assert (counter.opened, counter.commits) == (3, 3)
