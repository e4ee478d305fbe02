"""End-to-end fixtures: the real bot on a real framework, polling the local emulator.

Both frameworks are imported once per test session (aiogram takes seconds to import). Each
test gets a fresh emulator and a fresh SQLite file, so tests cannot leak into each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Services, build_services
from bot.config import Framework
from bot.runner import BotApp, make_app
from sandbox import Emulator
from sandbox.demo import demo_settings

TOKEN = "123456:TEST"
FRAMEWORKS: tuple[Framework, ...] = ("aiogram", "ptb")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@contextlib.asynccontextmanager
async def running_bot(
    emu: Emulator, database: Path, framework: Framework, **extra: Any
) -> AsyncIterator[tuple[BotApp, Services]]:
    """Starts the bot on `framework` against `emu`; stops it cleanly afterwards."""
    settings = demo_settings(
        framework, emu.base_url, database, token=TOKEN, default_timezone="UTC", **extra
    )
    services = await build_services(settings)
    app = make_app(framework, services)
    await app.start()
    try:
        yield app, services
    finally:
        await app.stop()
        await services.close()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN) as emu:
        yield emu
