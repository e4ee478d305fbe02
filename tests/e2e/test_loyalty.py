"""Loyalty end to end, through aiogram AND python-telegram-bot against the emulator: points
from imported paid orders (a refunded one earns nothing), the member level and what the next
needs in ``/points``, the button that turns points into a coupon (pressed twice: one coupon),
and a customer never sees another's points."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.settings import Framework
from sandbox import Emulator
from storage.customers_import import import_orders_file
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot
from tests.e2e.test_consent import Chat

pytestmark = BOT_DATABASE


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_points_level_and_a_coupon_for_points(
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
        async with services.uow() as uow:
            customer = await uow.customers.get_by_chat_id(ada.user.id)
            assert customer is not None and customer.id is not None
            ada_id = customer.id
            customer.customer_ref = "C1"
            await uow.customers.update(customer)
            await uow.commit()
        paid = (services.clock.now() - timedelta(days=3)).isoformat()
        orders = tmp_path / "orders.csv"
        orders.write_text(
            "order_id,customer_ref,amount,currency,status,created_at,paid_at\n"
            f"A-1,C1,620.50,CNY,delivered,{paid},{paid}\n"
            f"A-2,C1,100.00,CNY,refunded,{paid},{paid}\n",
            encoding="utf-8",
        )
        await import_orders_file(
            services.engine, orders, shop_currency="CNY", now=services.clock.now()
        )

        await ada.say("/points")
        shown = ada.texts()[-1]
        assert "you have 620 points" in shown and "member level is Silver" in shown
        assert "1380 more points" in shown and "make you Gold" in shown
        await bob.say("/points")
        assert "you have 0 points" in bob.texts()[-1] and "620" not in bob.texts()[-1]

        await ada.press("Turn 500 points into a 50.00 CNY coupon")
        async with services.uow() as uow:
            [coupon] = await uow.coupons.for_customer(ada_id)
        converted = ada.texts()[-1]
        assert coupon.code in converted and "50.00 CNY off" in converted
        assert "You have 120 points left" in converted
        await ada.press("Turn 500 points into a 50.00 CNY coupon")  # the same button again
        async with services.uow() as uow:
            assert len(await uow.coupons.for_customer(ada_id)) == 1
            assert [r.points for r in await uow.loyalty.redemptions(ada_id)] == [500]

        await ada.say("/points")
        assert "you have 120 points" in ada.texts()[-1]
        await ada.say("/coupons")
        assert coupon.code in ada.texts()[-1]
