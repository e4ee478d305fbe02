"""The customers' side of the role matrix (issue #10), through aiogram AND python-telegram-bot
against the emulator: a customer never sees nor touches another customer's coupons, points,
survey, rating or revisit — whatever ids they type after a command or forge into a button's
data (a tampered client), they get only what is their own, or a courteous refusal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.settings import Framework
from bot.core.coupons import CouponSource, issue
from bot.core.engagement.playbook import CouponKind, CouponSpec
from bot.core.surveys import Survey
from bot.core.tickets import TicketState
from sandbox import Emulator
from storage.customers_import import import_orders_file
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot
from tests.e2e.test_consent import Chat
from tests.fakes import a_ticket

pytestmark = BOT_DATABASE

# What Bob sends, with Ada's ids filled in: (how, text or callback data, what he is told).
TABLE = [
    ("say", "/coupons {ada}", "no valid coupons"),
    ("say", "/coupons {code}", "no valid coupons"),
    ("say", "/points {ada}", "you have 0 points"),
    ("forge", "points:redeem:0", "you have 0 points"),
    ("forge", "nps:{survey}:9", "no longer open"),
    ("forge", "rate:{ticket}:1", "no longer open"),
    ("forge", "rv:{ticket}:problem", "no longer open"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_customer_gets_nothing_of_anothers_whatever_ids_they_send(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    async with running_bot(emu, tmp_path / "bot.db", framework, **FAST_PACING) as (
        app,
        services,
    ):
        ada = Chat(emu, emu.add_user("Ada", language_code="en"), app)
        bob = Chat(emu, emu.add_user("Bob", language_code="en"), app)
        await ada.say("/start")
        await bob.say("/start")
        now = services.clock.now()
        async with services.uow() as uow:  # Ada's coupon, survey and resolved ticket
            customer = await uow.customers.get_by_chat_id(ada.user.id)
            assert customer is not None and customer.id is not None
            customer.customer_ref = "C1"
            await uow.customers.update(customer)
            spec = CouponSpec(CouponKind.PERCENT, 20)
            coupon = issue(
                spec,
                code="ADAS-0WN7",
                customer_id=customer.id,
                currency="CNY",
                source=CouponSource.RULE,
                source_ref="test",
                now=now,
            )
            await uow.coupons.add(coupon)
            survey = await uow.surveys.add(
                Survey(customer.id, "survey-high", "2026Q4", "high", now)
            )
            resolved = a_ticket(customer.id, ada.user.id, TicketState.RESOLVED, now)
            ticket = await uow.tickets.add(resolved)
            await uow.commit()
        assert survey is not None and survey.id is not None and ticket.id is not None
        paid = (now - timedelta(days=3)).isoformat()
        orders = tmp_path / "orders.csv"
        orders.write_text(
            "order_id,customer_ref,amount,currency,status,created_at,paid_at\n"
            f"A-1,C1,620.50,CNY,paid,{paid},{paid}\n",
            encoding="utf-8",
        )
        await import_orders_file(
            emu_engine := services.engine, orders, shop_currency="CNY", now=now
        )
        assert emu_engine is not None
        ids = {"ada": customer.id, "code": coupon.code, "survey": survey.id, "ticket": ticket.id}

        for how, what, told in TABLE:
            sent = what.format(**ids)
            before = len(bob.texts())
            await (bob.say(sent) if how == "say" else bob.forge(sent))
            said = bob.texts()[before:]
            for text in said:  # nothing of Ada's, ever
                assert coupon.code not in text and "620" not in text, (sent, text)
                assert ticket.number not in text, (sent, text)
            assert told in " ".join(said), (sent, said)

        async with services.uow() as uow:  # and nothing of Ada's changed
            assert (await uow.surveys.get(survey.id)).score is None  # type: ignore[union-attr]
            assert await uow.ratings.get(ticket.id) is None
            assert (await uow.tickets.get(ticket.id)).state is TicketState.RESOLVED  # type: ignore[union-attr]
            assert [c.code for c in await uow.coupons.for_customer(customer.id)] == [coupon.code]
            assert await uow.loyalty.redemptions(customer.id) == []
            bob_record = await uow.customers.get_by_chat_id(bob.user.id)
            assert bob_record is not None and bob_record.id is not None
            assert await uow.coupons.for_customer(bob_record.id) == []
        await ada.say("/points")  # her own are intact
        assert "you have 620 points" in ada.texts()[-1]
