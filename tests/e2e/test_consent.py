"""Marketing consent end to end, through aiogram AND python-telegram-bot against the emulator:
``/stop`` opts out (and the next engagement run skips the customer for consent), ``/start``
brings them back, the opt-out button on a marketing message works, and the "receive offers
again" button under its confirmation opts back in — each change in the consent log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app.jobs import engagement
from bot.app.settings import Framework
from bot.core.consent import ConsentChange, ConsentSource
from bot.core.services.engagement import run_playbook
from sandbox import Emulator, SimUser
from sandbox.scenario import settle, visible
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot

pytestmark = BOT_DATABASE

NO_QUIET_HOURS = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}


class Chat:
    """One customer's side of the conversation, waiting for the bot after each step."""

    def __init__(self, emu: Emulator, user: SimUser, app: Any) -> None:
        self.emu, self.user, self.app = emu, user, app

    async def _settled(self, since: int) -> None:
        await settle(self.emu, since, 0.03, 15.0, lambda: self.app.dispatcher.in_flight == 0)

    async def say(self, text: str) -> None:
        since = len(self.emu.requests)
        await self.emu.send_text(self.user, text)
        await self._settled(since)

    async def press(self, label: str) -> None:
        for message in reversed(self.emu.bot_messages(self.user.id)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") == label:
                        since = len(self.emu.requests)
                        await self.emu.press_button(
                            self.user, int(message["message_id"]), button["callback_data"]
                        )
                        await self._settled(since)
                        return
        raise LookupError(f"no button {label!r}")

    async def forge(self, data: str) -> None:
        """A tampered client: a callback with `data` on the bot's latest message, whatever
        its buttons carry."""
        since = len(self.emu.requests)
        latest = int(self.emu.bot_messages(self.user.id)[-1]["message_id"])
        await self.emu.press_forged(self.user, latest, data)
        await self._settled(since)

    def texts(self) -> list[str]:
        return [visible(m["text"]) for m in self.emu.bot_messages(self.user.id)]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_stop_start_and_the_buttons(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    settings = {**FAST_PACING, **NO_QUIET_HOURS}
    async with running_bot(fast_emulator, tmp_path / "bot.db", framework, **settings) as (
        app,
        services,
    ):
        ada = Chat(fast_emulator, fast_emulator.add_user("Ada", language_code="en"), app)
        await ada.say("/start")
        async with services.uow() as uow:
            customer = await uow.customers.get_by_chat_id(ada.user.id)
            assert customer is not None and customer.id is not None
            cid = customer.id
            # the shop's customer file said yes
            await uow.records.record_consent(
                ConsentChange(cid, True, ConsentSource.IMPORT, services.clock.now())
            )
            await uow.commit()

        await ada.say("/stop")
        assert "you will no longer receive offers" in ada.texts()[-1]
        assert "still get everything about your orders" in ada.texts()[-1]
        report = await run_playbook(app.dispatcher.deps)
        assert report.skipped["no_consent"] >= 1 and not report.written

        await ada.say("/start")
        assert "Welcome back, Ada" in ada.texts()[-1]
        await engagement.run(app.dispatcher)  # the prospect's welcome, with its opt-out button
        assert "Welcome to" in ada.texts()[-1]

        await ada.press("Stop these messages")
        assert "you will no longer receive offers" in ada.texts()[-1]
        await ada.press("Receive offers again")
        assert "Welcome back, Ada" in ada.texts()[-1]

        async with services.uow() as uow:
            log = await uow.records.consent_log(cid)
            state = await uow.records.consent(cid)
            export = await uow.records.export(cid)
    assert [(c.consent, c.source) for c in log] == [
        (True, ConsentSource.IMPORT),
        (False, ConsentSource.STOP),
        (True, ConsentSource.START),
        (False, ConsentSource.BUTTON),
        (True, ConsentSource.BUTTON),
    ]
    assert state.consent and state.at == log[-1].at
    assert [e["source"] for e in export.consent_log] == [c.source.value for c in log]
