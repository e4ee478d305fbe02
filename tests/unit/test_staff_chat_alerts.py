"""A staff chat the bot cannot post in is never a silent loss: the other staff chats hear of it.

If the staff group answers 403 (the bot was removed), 400 "chat not found", another 400, or
keeps failing with 5xx, the ticket card meant for it cannot arrive; supervisors must learn that
at once rather than wait for an SLA breach nobody can see.
"""

from __future__ import annotations

import pytest

from bot.core.errors import BadRequest, ChatBlocked, ChatGone, DeliveryError, TransientError
from bot.core.messages import Outgoing, Sent
from tests.fakes import RecordingMessenger
from tests.unit.conftest import ALICE, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain

SUPERVISORS, MANAGERS = 7001, 7002


class RefusingChat(RecordingMessenger):
    """Telegram as it answers when one chat is out of reach: every send there fails."""

    def __init__(self, chat_id: int, error: DeliveryError) -> None:
        super().__init__()
        self.chat_id, self.error, self.attempts = chat_id, error, 0

    async def send(self, message: Outgoing) -> Sent:
        if message.chat_id == self.chat_id:
            self.attempts += 1
            raise self.error
        return await super().send(message)


def refusing(bot: FakeBot, chat_id: int, error: DeliveryError) -> RefusingChat:
    from dataclasses import replace

    from bot.core.dispatch import Dispatcher
    from bot.handlers.routes import ROUTING

    messenger = RefusingChat(chat_id, error)
    bot.messenger = messenger
    bot.deps = replace(bot.deps, messenger=messenger)
    bot.dispatcher = Dispatcher(bot.deps, ROUTING)
    return messenger


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (ChatBlocked("Forbidden: bot was kicked from the supergroup chat"), "removed or blocked"),
        (ChatGone("Bad Request: chat not found"), "no longer exists"),
        (BadRequest("Bad Request: not enough rights to send text messages"), "refused"),
        (TransientError("Bad Gateway"), "kept failing"),
    ],
    ids=["403", "chat-not-found", "400", "5xx"],
)
async def test_a_staff_group_out_of_reach_alerts_the_other_staff_chats(
    bot: FakeBot, error: DeliveryError, problem: str
) -> None:
    bot.configure(
        staff_chat_id=STAFF_GROUP,
        supervisor_chat_id=SUPERVISORS,
        manager_chat_id=MANAGERS,
        staff_topics=False,
        max_send_attempts=2,
    )
    messenger = refusing(bot, STAFF_GROUP, error)
    await complain(bot, ALICE, "the kettle arrived broken, I want a refund")
    assert messenger.attempts >= 1
    assert messenger.assert_sent("complaint.opened").chat_id == ALICE.id  # the customer is served
    alerts = messenger.sent_with("staff.chat_unreachable")
    assert {a.chat_id for a in alerts} == {SUPERVISORS, MANAGERS}
    assert all(str(STAFF_GROUP) in a.text and problem in a.text for a in alerts)
    customer = next(iter(bot.uow.store.customers.values()))
    assert customer.reachability.value == "reachable"  # a staff chat is not a customer


async def test_an_alert_that_fails_too_does_not_cascade(bot: FakeBot) -> None:
    bot.configure(staff_chat_id=STAFF_GROUP, supervisor_chat_id=STAFF_GROUP, staff_topics=False)
    messenger = refusing(bot, STAFF_GROUP, ChatBlocked("Forbidden: bot was kicked"))
    await complain(bot, ALICE, "the kettle arrived broken, I want a refund")
    assert messenger.sent_with("staff.chat_unreachable") == []
    assert messenger.attempts <= 3  # the card once; no alert to the very chat that failed
