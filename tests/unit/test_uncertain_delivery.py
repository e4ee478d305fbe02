"""A send whose outcome is unknown (:class:`UncertainDelivery`) is a transient failure to the
code that exists today: the outbox row goes back to pending, the doubt in its reason, and is
retried after the back-off. (How many such retries to allow is delivery's decision; see the
error's docstring.)"""

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
    assert (result.outcome, result.reason) == (SendOutcome.RETRY, DOUBT)


async def test_the_outbox_row_records_the_doubt_and_is_retried(bot: FakeBot) -> None:
    await queue(bot, "k")
    bot.messenger.fail_with = [UncertainDelivery(DOUBT)]
    await sender(bot).drain_once()
    [row] = rows(bot)
    assert (row.state, row.attempts, row.last_error) == (OutboxState.PENDING, 1, DOUBT)
    bot.clock.advance(60)
    await sender(bot).drain_once()
    assert rows(bot)[0].state is OutboxState.SENT
