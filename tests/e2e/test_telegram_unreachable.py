"""`rapport run` when Telegram cannot be reached, or refuses the token, through aiogram AND
python-telegram-bot, as real processes.

Out of reach (nothing listens at the API address): one clear line per attempt, tries again with
back-off, no traceback and no "Unclosed client session"; SIGTERM during the wait ends it
cleanly. The bot then comes up as soon as Telegram (here the emulator) answers. A refused token:
one line, exit status 2, no retry.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.app.settings import Framework
from sandbox import Emulator
from tests.e2e.conftest import FRAMEWORKS

TOKEN = "123456:TEST"


def a_closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def rapport_run(
    framework: Framework, api_base: str, folder: Path, token: str = TOKEN
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "RAPPORT_API_BASE": api_base,
        "RAPPORT_BOT_TOKEN": token,
        "RAPPORT_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'bot.db'}",
        "RAPPORT_FRAMEWORK": framework,
        "RAPPORT_POLLING_TIMEOUT": "1",
        "RAPPORT_TELEGRAM_RETRY_MIN_SECONDS": "0.2",
        "RAPPORT_TELEGRAM_RETRY_MAX_SECONDS": "0.5",
        "PTB_TIMEDELTA": "1",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.app.cli import app; app()",
        "run",
        cwd=folder,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def read_until(stream: asyncio.StreamReader, needle: str, count: int, timeout: float) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while seen.count(needle) < count:
            line = await stream.readline()
            if not line:
                break
            seen += line.decode(errors="replace")
    return seen


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_out_of_reach_it_says_so_and_keeps_trying_until_stopped(
    framework: Framework, tmp_path: Path
) -> None:
    process = await rapport_run(framework, f"http://127.0.0.1:{a_closed_port()}", tmp_path)
    assert process.stdout is not None
    try:
        seen = await read_until(process.stdout, "Telegram cannot be reached", 3, timeout=30)
        assert seen.count("Telegram cannot be reached at 127.0.0.1:") >= 3, seen
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
    output = seen + rest.decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output and "Unclosed client session" not in output, output
    assert TOKEN.split(":")[1] not in output  # the token never appears


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_it_starts_once_telegram_answers(framework: Framework, tmp_path: Path) -> None:
    port = a_closed_port()
    process = await rapport_run(framework, f"http://127.0.0.1:{port}", tmp_path)
    assert process.stdout is not None
    try:
        await read_until(process.stdout, "Telegram cannot be reached", 1, timeout=30)
        emu = Emulator(token=TOKEN)  # Telegram comes back, on the same address
        await emu.start(port=port)
        try:
            await emu.wait_until_polling(timeout=90)
            process.send_signal(signal.SIGTERM)
            rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            await emu.stop()
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in rest.decode(errors="replace")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_refused_token_is_one_line_and_exit_status_2(
    framework: Framework, tmp_path: Path
) -> None:
    async with Emulator(token=TOKEN) as emu:
        process = await rapport_run(framework, emu.base_url, tmp_path, token="654321:WRONG")
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    output = out.decode(errors="replace")
    assert process.returncode == 2, output
    assert "error: Telegram refused the bot token" in output, output
    assert "Traceback" not in output and "WRONG" not in output, output
