"""`rapport run` when Telegram cannot be reached, or refuses the token, through aiogram AND
python-telegram-bot, as real processes.

Out of reach (nothing listens at the API address): one clear line per attempt, tries again with
back-off, no traceback and no "Unclosed client session"; SIGTERM during the wait ends it
cleanly. The bot then comes up as soon as Telegram (here the emulator) answers. A refused token:
one line, exit status 2, no retry.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.app.settings import Framework
from sandbox import Emulator
from tests.e2e.conftest import FRAMEWORKS, patiently, process_env

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
    env = process_env(
        RAPPORT_API_BASE=api_base,
        RAPPORT_BOT_TOKEN=token,
        # SQLite in both passes: what these tests prove is about Telegram, not the database,
        # and each starts a fresh interpreter (seconds of imports) that a PostgreSQL pass
        # would pay again for nothing
        RAPPORT_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'bot.db'}",
        RAPPORT_FRAMEWORK=framework,
        RAPPORT_POLLING_TIMEOUT="1",
        RAPPORT_TELEGRAM_RETRY_MIN_SECONDS="0.2",
        RAPPORT_TELEGRAM_RETRY_MAX_SECONDS="0.5",
        PTB_TIMEDELTA="1",
    )
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


class Output:
    """The process's output, read line by line in the background as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        self.process, self.text = process, ""
        self._task = asyncio.create_task(self._read(process.stdout))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.text += line.decode(errors="replace")

    async def until(self, needle: str, count: int) -> str:
        """Waits until `needle` appeared `count` times; fails only when the process neither
        prints nor uses CPU for a long while (starting up under load takes tens of
        seconds)."""
        await patiently(
            lambda: self.text.count(needle) >= count,
            f"{count} × {needle!r}",
            pids=lambda: [self.process.pid],
            progress=lambda: len(self.text),
            details=lambda: f"\n{self.text}",
        )
        return self.text

    async def end(self) -> str:
        """Waits for the process to exit (as :meth:`until` waits), then for its last line."""
        await patiently(
            lambda: self.process.returncode is not None,
            "the process to exit",
            pids=lambda: [self.process.pid],
            progress=lambda: len(self.text),
            details=lambda: f"\n{self.text}",
        )
        await self._task
        return self.text

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_out_of_reach_it_says_so_and_keeps_trying_until_stopped(
    framework: Framework, tmp_path: Path
) -> None:
    process = await rapport_run(framework, f"http://127.0.0.1:{a_closed_port()}", tmp_path)
    output = Output(process)
    try:
        seen = await output.until("Telegram cannot be reached", 3)
        assert seen.count("Telegram cannot be reached at 127.0.0.1:") >= 3, seen
        process.send_signal(signal.SIGTERM)
        text = await output.end()
    finally:
        output.kill()
    assert process.returncode == 0, text
    assert "Traceback" not in text and "Unclosed client session" not in text, text
    assert TOKEN.split(":")[1] not in text  # the token never appears


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_it_starts_once_telegram_answers(framework: Framework, tmp_path: Path) -> None:
    port = a_closed_port()
    process = await rapport_run(framework, f"http://127.0.0.1:{port}", tmp_path)
    output = Output(process)
    try:
        await output.until("Telegram cannot be reached", 1)
        emu = Emulator(token=TOKEN)  # Telegram comes back, on the same address
        await emu.start(port=port)
        try:
            await patiently(
                lambda: emu.polling,
                "the bot to poll",
                pids=lambda: [process.pid],
                progress=lambda: (len(output.text), len(emu.requests)),
                details=lambda: f"\n{output.text}",
            )
            process.send_signal(signal.SIGTERM)
            text = await output.end()
        finally:
            await emu.stop()
    finally:
        output.kill()
    assert process.returncode == 0, text
    assert "Traceback" not in text, text


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_refused_token_is_one_line_and_exit_status_2(
    framework: Framework, tmp_path: Path
) -> None:
    async with Emulator(token=TOKEN) as emu:
        process = await rapport_run(framework, emu.base_url, tmp_path, token="654321:WRONG")
        output = Output(process)
        try:
            text = await output.end()
        finally:
            output.kill()
    assert process.returncode == 2, text
    assert "error: Telegram refused the bot token" in text, text
    assert "Traceback" not in text and "WRONG" not in text, text
