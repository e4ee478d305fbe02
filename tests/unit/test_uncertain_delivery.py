"""A send whose outcome is unknown (:class:`UncertainDelivery`: the request left, no answer
came) is never repeated blindly: delivery does not retry it in-process; the outbox row goes
back to pending with the doubt in its reason and is tried once more after the back-off; a
second doubt fails the row (an operator can still retry it), so one row reaches a customer
at most twice."""

from __future__ import annotations

from bot.core.delivery import Delivery, SendOutcome
from bot.core.errors import TransientError, UncertainDelivery
from bot.core.messages import Outgoing
from bot.core.outbox import OutboxState
from tests.unit.conftest import ALICE, FakeBot
from tests.unit.test_outbox import queue, rows, sender

DOUBT = "TimedOut: Timed out (ReadTimeout)"


def test_uncertain_delivery_is_a_transient_error() -> None:
    assert issubclass(UncertainDelivery, TransientError)


async def test_send_once_reports_it_as_retry_with_the_reason(bot: FakeBot) -> None:
    bot.messenger.fail_with = [UncertainDelivery(DOUBT)]
    result = await Delivery(bot.deps).send_once(Outgoing(ALICE.id, "hello"))
    assert (result.outcome, result.reason) == (SendOutcome.RETRY, f"uncertain: {DOUBT}")
    assert len(bot.messenger.sent) == 0 and bot.clock.slept == []  # not tried again here


async def test_the_outbox_row_records_the_doubt_and_is_retried(bot: FakeBot) -> None:
    await queue(bot, "k")
    bot.messenger.fail_with = [UncertainDelivery(DOUBT)]
    await sender(bot).drain_once()
    [row] = rows(bot)
    assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
    assert row.last_error == f"uncertain: {DOUBT}"
    bot.clock.advance(60)
    await sender(bot).drain_once()
    assert rows(bot)[0].state is OutboxState.SENT


async def test_a_second_doubt_fails_the_row_rather_than_risk_more_copies(bot: FakeBot) -> None:
    await queue(bot, "k")
    bot.messenger.fail_with = [UncertainDelivery(DOUBT), UncertainDelivery(DOUBT)]
    await sender(bot).drain_once()
    bot.clock.advance(60)
    await sender(bot).drain_once()
    [row] = rows(bot)
    assert (row.state, row.attempts) == (OutboxState.FAILED, 2)
    assert row.last_error is not None and "not repeated" in row.last_error
    bot.clock.advance(3600)
    assert await sender(bot).drain_once() == 0  # no third copy


async def test_a_doubt_after_a_plain_failure_is_still_tried_once_more(bot: FakeBot) -> None:
    await queue(bot, "k")
    bot.messenger.fail_with = [TransientError("Bad Gateway"), UncertainDelivery(DOUBT)]
    await sender(bot).drain_once()
    bot.clock.advance(60)
    await sender(bot).drain_once()
    assert rows(bot)[0].state is OutboxState.PENDING
    bot.clock.advance(60)
    await sender(bot).drain_once()
    assert rows(bot)[0].state is OutboxState.SENT
