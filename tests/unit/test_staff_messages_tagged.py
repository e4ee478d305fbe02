"""Bot messages to staff that quote a customer are logged as about that customer, so erasing
the customer (`forget`) erases those copies of their words too (SPEC §12)."""

from __future__ import annotations

from bot.core.models import Direction
from tests.unit.conftest import ALICE, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain


async def test_a_ticket_card_is_logged_as_about_the_customer(bot: FakeBot) -> None:
    bot.configure(staff_chat_id=STAFF_GROUP, staff_topics=False)
    await complain(bot, ALICE, "the kettle arrived broken, I want a refund")
    customer = next(iter(bot.uow.store.customers.values()))
    cards = [
        m
        for m in bot.uow.store.messages
        if m.direction is Direction.OUT and m.template_key == "staff.ticket_card"
    ]
    assert cards and all(m.chat_id == STAFF_GROUP for m in cards)
    assert {m.customer_id for m in cards} == {customer.id}
    async with bot.uow() as uow:
        assert customer.id is not None
        await uow.records.forget(customer.id)
        await uow.commit()
    assert all(m.text is None for m in bot.uow.store.messages if m.customer_id == customer.id)
