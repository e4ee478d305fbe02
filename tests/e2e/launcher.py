"""Real ``rapport`` processes for the tests, started by forking a process that has already
imported the bot (a "fork server"), not by a fresh interpreter each time.

A fresh ``python -c "from bot.app.cli import app; app()" run`` spends seconds importing
aiogram's pydantic models, python-telegram-bot, SQLAlchemy and numpy before it does anything;
on a loaded 2-core machine that was most of each crash test (two starts per test, three
workers at once in the webhook test). The launcher (``python -m tests.e2e.launcher``, one per
test session, started on first use) imports those modules once, then forks a child per
request. The child is a real process of its own, with the environment, working directory and
log file the test asked for: it runs ``rapport`` from the command line's entry, builds its
services, migrates, polls, and dies of a real SIGKILL or stops on a real SIGTERM. What the
crash tests prove (nothing accepted is lost across a kill and a restart) is unchanged; only
the imports are shared. A fresh interpreter start is still proved by
``tests/e2e/test_telegram_unreachable.py`` and ``tests/integration/test_key_check.py``.

Only modules and compiled template code are loaded before the fork: no settings, no database,
no event loop, no threads (``OPENBLAS_NUM_THREADS=1`` keeps numpy from starting a thread pool).

Protocol, one JSON object or word per line. The client writes
``{"argv": [...], "env": {...}, "cwd": "...", "output": "..."}``; the launcher answers
``started PID``, and ``exited PID CODE`` when that child ends (CODE as
:attr:`asyncio.subprocess.Process.returncode`: ``-N`` for death by signal N). At the end of
its input the launcher kills the children still running and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

PRELOADED = (
    "bot.app.cli.main",
    "bot.app.runner",
    "bot.adapters.aiogram.app",
    "bot.adapters.ptb.app",
)
"""What every child would import anyway (both frameworks: a child runs either)."""


def preload() -> None:
    """Imports :data:`PRELOADED` and compiles the shipped templates (the renderer keeps the
    compiled code per process: :mod:`bot.app.i18n`), so each child skips both."""
    for module in PRELOADED:
        __import__(module)
    from bot.app.faq_data import load_faq
    from bot.app.i18n import SCRIPTS_DIR, build_renderer
    from bot.app.settings import LOCALES

    build_renderer(SCRIPTS_DIR, LOCALES, load_faq(SCRIPTS_DIR, LOCALES), {})


# --- the launcher process ---------------------------------------------------------------------


def _run_child(request: dict[str, Any]) -> None:
    """In the forked child: become the process the test asked for, run ``rapport``, exit."""
    code = 1
    try:
        os.setpgid(0, 0)  # the test's signals go to this child only
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.close(null)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        from bot.app.cli import app

        app(request["argv"], prog_name="rapport")
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reply(line: str) -> None:
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def _reap(children: set[int], block: bool = False) -> None:
    """Reports every child that has ended."""
    while children:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _reply(f"exited {pid} {os.waitstatus_to_exitcode(status)}")


def serve() -> None:
    """The launcher's loop: preload, then fork a child per request line until end of input."""
    preload()
    children: set[int] = set()
    pending = b""
    _reply("ready")
    while True:
        readable, _, _ = select.select([0], [], [], 0.05)
        _reap(children)
        if not readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            pid = os.fork()
            if pid == 0:
                _run_child(json.loads(line))
            children.add(pid)
            _reply(f"started {pid}")
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(children, block=True)


# --- the test's side --------------------------------------------------------------------------


class LaunchedProcess:
    """A child of the launcher, with what the tests use of
    :class:`asyncio.subprocess.Process`: ``pid``, ``returncode``, ``send_signal``, ``kill``
    and ``wait``."""

    def __init__(self, pid: int, ended: asyncio.Future[int]) -> None:
        self.pid = pid
        self._ended = ended

    @property
    def returncode(self) -> int | None:
        return self._ended.result() if self._ended.done() else None

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)


class Launcher:
    """The test side of one launcher process (see the module's docstring)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._started: asyncio.Queue[int] = asyncio.Queue()
        self._ended: dict[int, asyncio.Future[int]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, env: dict[str, str]) -> Launcher:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.e2e.launcher",
            env={**env, "OPENBLAS_NUM_THREADS": "1"},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        launcher = cls(process)
        assert process.stdout is not None
        ready = await process.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the launcher did not start: {ready!r}")
        launcher._reader = asyncio.create_task(launcher._read(), name="launcher-reader")
        return launcher

    def _ending(self, pid: int) -> asyncio.Future[int]:
        return self._ended.setdefault(pid, asyncio.get_running_loop().create_future())

    async def _read(self) -> None:
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            word, pid, *rest = raw.decode().split()
            if word == "started":
                self._ending(int(pid))
                self._started.put_nowait(int(pid))
            elif word == "exited":
                ending = self._ending(int(pid))
                if not ending.done():
                    ending.set_result(int(rest[0]))

    async def launch(
        self, argv: list[str], env: dict[str, str], cwd: Path, output: Path
    ) -> LaunchedProcess:
        """Starts ``rapport ARGV`` in a child with environment `env` in `cwd`, its output
        appended to the file `output`."""
        request = {"argv": argv, "env": env, "cwd": str(cwd), "output": str(output)}
        assert self._process.stdin is not None
        async with self._lock:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            await self._process.stdin.drain()
            pid = await asyncio.wait_for(self._started.get(), 60)
        return LaunchedProcess(pid, self._ending(pid))

    async def close(self) -> None:
        """Ends the launcher (it kills the children still running)."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        await self._process.wait()
        if self._reader is not None:
            await self._reader


if __name__ == "__main__":
    serve()
