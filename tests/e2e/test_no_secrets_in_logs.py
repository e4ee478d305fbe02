"""The bot token never reaches a log, even at DEBUG, where the HTTP libraries print URLs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.logs import REDACTED, configure_logging
from bot.app.settings import Framework
from sandbox import Emulator
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS, TOKEN, running_bot


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", secrets=[TOKEN], stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


@BOT_DATABASE
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_the_token_is_redacted_from_debug_logs(
    framework: Framework, emulator: Emulator, tmp_path: Path, debug_log: io.StringIO
) -> None:
    async with running_bot(emulator, tmp_path / "bot.db", framework):
        user = emulator.add_user("Dee", language_code="en")
        emulator.mark()
        await emulator.send_text(user, "/start")
        await emulator.wait_for("sendMessage", chat_id=user.id, timeout=10)
    text = debug_log.getvalue()
    assert "sendMessage" in text or "send_message" in text.lower() or len(text) > 1000
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text.replace(REDACTED, "")


def test_redaction_covers_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO", secrets=["123456:SECRET-TOKEN"], stream=stream)
        log = logging.getLogger("rapport.test")
        log.info("calling %s", "https://api.telegram.org/bot123456:SECRET-TOKEN/getMe")
        try:
            raise RuntimeError("failed at /bot123456:SECRET-TOKEN/sendMessage")
        except RuntimeError:
            log.exception("boom")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    text = stream.getvalue()
    assert "SECRET-TOKEN" not in text
    assert text.count(REDACTED) >= 2  # the message and the traceback
