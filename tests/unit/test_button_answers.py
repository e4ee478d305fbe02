"""A failed answer to a button press is cosmetic: it never cancels the messages after it.

Staff press "Resolved": the ticket is resolved, and even when Telegram fails the
answerCallbackQuery (429, 5xx, a dropped connection, an expired query) the customer is still
told, gets the rating question, and the card is updated.
"""

from __future__ import annotations

import pytest

from bot.core.errors import BadRequest, RateLimited, TransientError
from bot.core.messages import Sender
from bot.core.roles import Role
from bot.core.services.staff import enroll
from bot.core.tickets import TicketState
from tests.unit.conftest import ALICE, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain

SAM = Sender(id=9001, first_name="Sam")


class FlakyAnswers(Exception):
    """Stands for anything a framework may raise: a dropped connection, say."""


@pytest.mark.parametrize(
    "failure",
    [
        RateLimited(3.0, "Too Many Requests: retry after 3"),
        TransientError("Bad Gateway"),
        BadRequest("Bad Request: query is too old and response timeout expired"),
        FlakyAnswers("connection reset by peer"),
    ],
    ids=["429", "5xx", "too-old", "network"],
)
async def test_a_failed_button_answer_never_cancels_what_follows(
    bot: FakeBot, failure: Exception
) -> None:
    bot.configure(staff_chat_id=STAFF_GROUP)
    async with bot.deps.uow() as uow:
        await enroll(uow, SAM.id, "Sam", Role.SUPERVISOR, bot.clock.now())
        await uow.commit()
    await complain(bot, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = bot.uow.store.tickets.values()

    async def failing(callback_id: str, text: str | None = None) -> None:
        raise failure

    bot.messenger.answer_callback = failing  # type: ignore[method-assign]
    bot.messenger.sent.clear()
    await bot.press_in_group(SAM, STAFF_GROUP, f"tk:{ticket.id}:resolved")
    assert bot.uow.store.tickets[ticket.id or 0].state is TicketState.RESOLVED
    keys = bot.messenger.template_keys()
    assert "ticket.update.resolved" in keys  # the customer is told
    assert "rating.question" in keys  # and asked for a rating
    assert "staff.ticket_card" in keys  # the card is brought up to date
