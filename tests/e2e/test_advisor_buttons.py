"""A dedicated advisor works a ticket card from their private chat, through aiogram AND
python-telegram-bot: the card's buttons act there exactly as in the staff group, and a press
by someone no longer on the roster is refused, answered and audited — on both frameworks.

(Before routing moved into the core, python-telegram-bot's staff-group button handlers caught
these presses in the private chat and dropped them: no answer, no change, no audit entry.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app.settings import Framework
from bot.core.services.advisors import assign
from bot.core.services.staff import withdraw
from bot.core.services.tickets import STAFF_PREFIX, TAKE_OVER_PREFIX
from bot.core.tickets import TicketState
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, enroll_staff, running_bot

pytestmark = BOT_DATABASE


def card_in(emu: Emulator, chat_id: int) -> dict[str, Any]:
    """The newest ticket card (a message with buttons) the bot sent to `chat_id`."""
    cards = [m for m in emu.bot_messages(chat_id) if (m.get("reply_markup") or {})]
    assert cards, f"no ticket card in chat {chat_id}"
    return cards[-1]


def button(card: dict[str, Any], prefix: str) -> str:
    for row in card["reply_markup"]["inline_keyboard"]:
        for b in row:
            if b["callback_data"].startswith(prefix):
                return str(b["callback_data"])
    raise AssertionError(f"no {prefix} button on the card")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_advisors_card_buttons_work_in_their_private_chat(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    group = emu.add_forum_group("Care desk")
    sam = emu.add_user("Sam", username="sam")
    alice = emu.add_user("Alice", language_code="en")
    async with running_bot(
        emu, tmp_path / "bot.db", framework, staff_chat_id=group.id, **FAST_PACING
    ) as (_bot, services):
        await enroll_staff(services, sam)
        emu.mark()
        await emu.send_text(alice, "/start")
        await emu.wait_for("sendMessage", chat_id=alice.id, timeout=10)
        async with services.uow() as uow:
            customer = await uow.customers.get_by_telegram_id(alice.id)
            assert customer is not None and customer.id is not None
            await assign(uow, customer.id, sam.id)
            await uow.commit()

        emu.mark()
        await emu.send_text(alice, "/complaint the kettle arrived broken, I want a refund")
        for label in ("Yes, that's right", "Skip", "Done"):
            [asked] = await emu.wait_for("sendMessage", chat_id=alice.id, timeout=10)
            emu.mark()
            message = asked.response["result"]
            data = next(
                b["callback_data"]
                for row in message["reply_markup"]["inline_keyboard"]
                for b in row
                if b["text"] == label
            )
            await emu.press_button(alice, message["message_id"], data)
        await emu.wait_for("sendMessage", chat_id=sam.id, timeout=10)
        card = card_in(emu, sam.id)

        # Sam moves the ticket on from his private chat: the card there is updated.
        emu.mark()
        investigating = button(card, STAFF_PREFIX)
        assert investigating.endswith(":investigating")
        pressed = await emu.press_button(sam, card["message_id"], investigating)
        await emu.wait_for("editMessageText", chat_id=sam.id, timeout=10)
        assert emu.callback_answer(pressed["callback_query"]["id"]) is not None
        async with services.uow() as uow:
            [ticket] = await uow.tickets.open_for_customer(customer.id)
        assert ticket.state is TicketState.INVESTIGATING

        # Taken off the roster, Sam's next press is refused, answered and audited.
        async with services.uow() as uow:
            assert await withdraw(uow, sam.id)
            await uow.commit()
        emu.mark()
        take_over = button(card_in(emu, sam.id), TAKE_OVER_PREFIX)
        refused = await emu.press_button(sam, card["message_id"], take_over)
        await emu.wait_for("answerCallbackQuery", timeout=10)
        answer = emu.callback_answer(refused["callback_query"]["id"])
        assert answer is not None and "role does not allow" in answer.get("text", "")
        async with services.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT action, allowed FROM staff_audit"
                        " WHERE telegram_user_id = :user ORDER BY id"
                    ),
                    {"user": sam.id},
                )
            ).all()
        assert [(r[0], bool(r[1])) for r in rows] == [
            ("move_ticket", True),
            ("take_over", False),
        ]
        async with services.uow() as uow:
            assert await uow.desk.active(alice.id) is None  # nothing was taken over
