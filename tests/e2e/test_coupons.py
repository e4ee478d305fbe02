"""Coupons end to end, through aiogram AND python-telegram-bot against the emulator: the
playbook issues each prospect their own welcome coupon with the message that shows its code
and last day; ``/coupons`` shows a customer their own valid coupons and never another's (none:
a courteous line); an imported order carrying the code redeems it, and it is gone from
``/coupons``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.jobs import engagement
from bot.app.settings import Framework
from bot.core.consent import ConsentChange, ConsentSource
from bot.core.coupons import Coupon
from sandbox import Emulator
from storage.customers_import import import_orders_file
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat

pytestmark = BOT_DATABASE


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_issued_shown_to_its_owner_only_and_redeemed(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    settings = {**FAST_PACING, **NO_QUIET_HOURS}
    async with running_bot(emu, tmp_path / "bot.db", framework, **settings) as (app, services):
        ada, bob, cy = (
            Chat(emu, emu.add_user(name, language_code=lang), app)
            for name, lang in (("Ada", "en"), ("Bob", "zh-hans"), ("Cy", "en"))
        )
        ids: dict[str, int] = {}
        for chat in (ada, bob, cy):
            await chat.say("/start")
        async with services.uow() as uow:
            for name, chat in (("Ada", ada), ("Bob", bob), ("Cy", cy)):
                customer = await uow.customers.get_by_chat_id(chat.user.id)
                assert customer is not None and customer.id is not None
                ids[name] = customer.id
                if name == "Ada":  # the shop knows her as C1
                    customer.customer_ref = "C1"
                    await uow.customers.update(customer)
            for name in ("Ada", "Bob"):  # Cy never said yes to offers
                await uow.records.record_consent(
                    ConsentChange(ids[name], True, ConsentSource.IMPORT, services.clock.now())
                )
            await uow.commit()

        await engagement.run(app.dispatcher)  # the prospects' welcome, each with a coupon
        async with services.uow() as uow:
            [adas] = await uow.coupons.for_customer(ids["Ada"])
            [bobs] = await uow.coupons.for_customer(ids["Bob"])
            assert await uow.coupons.for_customer(ids["Cy"]) == []
        welcome = ada.texts()[-1]
        assert "20 % off" in welcome and adas.code in welcome
        assert f"valid through {adas.last_day.isoformat()}" in welcome
        assert bobs.code in bob.texts()[-1] and "优惠码" in bob.texts()[-1]

        await ada.say("/coupons")
        assert adas.code in ada.texts()[-1] and bobs.code not in ada.texts()[-1]
        await bob.say("/coupons")
        assert bobs.code in bob.texts()[-1] and adas.code not in bob.texts()[-1]
        await cy.say("/coupons")
        assert "you have no valid coupons at the moment" in cy.texts()[-1]
        assert all(c.code not in cy.texts()[-1] for c in (adas, bobs))

        placed = (services.clock.now() + timedelta(minutes=5)).isoformat()
        orders = tmp_path / "orders.csv"
        orders.write_text(
            "order_id,customer_ref,amount,currency,status,created_at,paid_at,coupon_code\n"
            f"A-1,C1,120.00,CNY,paid,{placed},{placed},{adas.code}\n",
            encoding="utf-8",
        )
        report = await import_orders_file(
            services.engine, orders, shop_currency="CNY", now=services.clock.now()
        )
        assert report.created == 1 and report.coupons == {"redeemed": 1}
        async with services.uow() as uow:
            redeemed: Coupon | None = await uow.coupons.get_by_code(adas.code)
        assert redeemed is not None and redeemed.redeemed_order_id == "A-1"
        assert redeemed.redeemed_amount_cents == 12000

        await ada.say("/coupons")
        assert "you have no valid coupons at the moment" in ada.texts()[-1]
