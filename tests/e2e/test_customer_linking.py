"""Linking a Telegram user to an imported customer record, end to end, through aiogram AND
python-telegram-bot: the contact button (a reply keyboard with ``request_contact``), a shared
phone number matched through the blind index, and a signed ``/start`` deep link."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.policies import policies
from bot.app.settings import LOCALES, Framework
from bot.core.importing import CUSTOMER_COLUMNS
from bot.core.services.linking import link_url
from sandbox.emulator import Emulator
from storage.crypto import PersonalDataCipher, new_key
from storage.customers_import import import_customers, read_rows
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.bot_database import BOT_DATABASE, bot_database_url
from tests.e2e.conftest import FRAMEWORKS, running_bot

pytestmark = BOT_DATABASE


async def imported_shop(database: Path, key: str, tmp_path: Path) -> None:
    file = tmp_path / "customers.csv"
    file.write_text(
        "customer_ref,name,phone,tags\n"
        "C1,Ada Lovelace,+44 7700 900123,tea-lover\n"
        "C2,Bob Brown,+44 7700 900456,\n",
        encoding="utf-8",
    )
    url = await bot_database_url(database)
    engine = make_engine(url)
    try:
        await upgrade(url, engine=engine)
        report = await import_customers(
            engine,
            read_rows(file, CUSTOMER_COLUMNS, ("customer_ref",)),
            cipher=PersonalDataCipher(key),
            locales=LOCALES,
            now=datetime.now(UTC),
        )
    finally:
        await engine.dispose()
    assert report.created == 2


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_contact_button_and_deep_link(
    framework: Framework, emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database, key = tmp_path / "bot.db", new_key()
    await imported_shop(database, key, tmp_path)
    async with running_bot(
        emulator, database, framework, encryption_key=key, bot_username="teapot_bot"
    ) as (_app, services):
        ada = emulator.add_user("Ada", language_code="en")
        emulator.mark()
        await emulator.send_text(ada, "/link")
        await emulator.wait_for("sendMessage", chat_id=ada.id, timeout=10)
        [ask] = emulator.bot_messages(ada.id)
        keyboard = ask["reply_markup"]
        assert keyboard["one_time_keyboard"] is True
        assert keyboard["keyboard"][0][0]["request_contact"] is True

        eve = emulator.add_user("Eve", language_code="en")
        emulator.mark()
        await emulator.send_message(eve, contact=("+44 7700 900999", "Eve"))
        await emulator.wait_for("sendMessage", chat_id=eve.id, timeout=10)
        assert "could not find one customer account" in emulator.bot_messages(eve.id)[-1]["text"]

        emulator.mark()
        await emulator.send_message(ada, contact=("447700900123", "Ada"))
        await emulator.wait_for("sendMessage", chat_id=ada.id, timeout=10)
        linked = emulator.bot_messages(ada.id)[-1]
        assert "now linked to your customer account" in linked["text"]
        assert linked["reply_markup"] == {"remove_keyboard": True}

        async with services.uow() as uow:
            record = await uow.records.get_by_ref("C2")
            assert record is not None and record.id is not None
        url = link_url(policies(services.settings).linking, record.id, datetime.now(UTC))
        bob = emulator.add_user("Bob", language_code="en")
        emulator.mark()
        await emulator.send_text(bob, "/start " + url.rsplit("=", 1)[1])
        await emulator.wait_for("sendMessage", chat_id=bob.id, timeout=10)
        assert "now linked" in emulator.bot_messages(bob.id)[-1]["text"]

        async with services.uow() as uow:
            ada_record = await uow.customers.get_by_telegram_id(ada.id)
            bob_record = await uow.customers.get_by_telegram_id(bob.id)
            eve_record = await uow.customers.get_by_telegram_id(eve.id)
            assert ada_record is not None and ada_record.customer_ref == "C1"
            assert bob_record is not None and bob_record.customer_ref == "C2"
            assert eve_record is not None and eve_record.customer_ref is None
            assert ada_record.id is not None
            profile = await uow.records.profile(ada_record.id)
            assert profile is not None and profile.tags == ("tea-lover",)
    # Both frameworks took every answer in their stride (aiogram used to log an error for
    # each message with the contact button, which the emulator wrongly echoed back).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
