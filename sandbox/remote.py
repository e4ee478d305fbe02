"""The emulator in a process of its own, driven from this one: :class:`RemoteEmulator`.

A benchmark that runs the bot and the :class:`~sandbox.emulator.Emulator` in one process makes
them share one event loop and one CPU core, so the bot is charged for Telegram's half of every
request too (parsing it, flood control, building and recording the answer). Telegram runs on
other machines; on a machine with two or more cores, serving the emulator from a child process
measures the bot alone, while the emulator still enforces the flood limits and records every
request it received, as in-process.

The child runs an ordinary :class:`~sandbox.emulator.Emulator` on the real clock
(:class:`~sandbox.clock.RealClock`: ``time.monotonic`` is the machine's, the same in both
processes, so the request times the child records compare with times taken here). This side
sends it commands over a pipe and awaits the answers; each command runs as a task of its own
in the child, so a long :meth:`RemoteEmulator.wait_for` does not hold up the others. What it
can ask is what a benchmark needs: add users, write as them, wait for and read the requests
received (as :class:`RequestSummary`, without the bodies), refill the flood buckets: the calls of
an :class:`InProcessEmulator`, which answers them in the child.

Typical use::

    async with RemoteEmulator(token=TOKEN, limits=FloodLimits()) as emu:
        [alice] = await emu.add_users(["Alice"])
        # start the bot with base_url=emu.base_url, then:
        await emu.send_text(alice, "/start")
        assert await emu.wait_for("sendMessage", chat_id=alice.id) == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .clock import RealClock
from .emulator import DEFAULT_TOKEN, Emulator, RecordedRequest
from .limits import FloodLimits
from .state import SimUser

START_TIMEOUT_SECONDS = 60.0
"""How long the child may take to import the sandbox and start serving."""
STOP_TIMEOUT_SECONDS = 10.0
"""How long the child may take to stop cleanly before it is killed."""


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """One request the emulator received, without its parameters and answer body: what a
    benchmark counts. ``at`` is on the machine's monotonic clock (see the module docstring)."""

    method: str
    chat_id: int | None
    status: int
    ok: bool
    at: float
    fault: str | None = None

    @classmethod
    def of(cls, request: RecordedRequest) -> RequestSummary:
        return cls(
            request.method, request.chat_id, request.status, request.ok, request.at, request.fault
        )


class InProcessEmulator:
    """The calls of a :class:`RemoteEmulator`, answered by an
    :class:`~sandbox.emulator.Emulator` in this process: what the child runs for each command,
    and what a benchmark uses to compare with the emulator in its own process."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.base_url = emu.base_url
        self.clock = RealClock()

    async def add_users(self, names: list[str]) -> list[SimUser]:
        """New users, each with a private chat with the bot."""
        return [self.emu.add_user(name) for name in names]

    async def send_text(self, user: SimUser, text: str) -> None:
        """`user` writes `text` in their private chat."""
        await self.emu.send_text(user, text)

    async def wait_for(
        self,
        method: str,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 10.0,
        *,
        ok: bool | None = None,
    ) -> int:
        """As :meth:`Emulator.wait_for`; returns how many matched."""
        return len(await self.emu.wait_for(method, chat_id, count, timeout, ok=ok))

    async def requests_since(self, start: int) -> tuple[list[RequestSummary], int]:
        """The requests received from the `start`-th on, and how many there are in all."""
        requests = self.emu.requests
        end = len(requests)
        return [RequestSummary.of(r) for r in requests[start:end]], end

    async def reset_limits(self) -> None:
        """Refills every flood-control bucket."""
        self.emu.reset_limits()


def _child(fd: int) -> None:
    """The child process (``python -m sandbox.remote FD``): reads its settings from the
    socket `fd`, then serves the emulator until told to stop or the parent goes away."""
    conn = Connection(fd)
    token, limits, validate = conn.recv()
    asyncio.run(_serve(conn, token, limits, validate))


async def _serve(conn: Connection, token: str, limits: FloodLimits, validate: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    sending = threading.Lock()

    def answer(call_id: int, ok: bool, value: Any) -> None:
        with sending, contextlib.suppress(OSError):
            conn.send((call_id, ok, value))

    async with Emulator(token=token, limits=limits, validate=validate, clock=RealClock()) as emu:
        commands = InProcessEmulator(emu)
        tasks: set[asyncio.Task[None]] = set()

        async def run(
            call_id: int, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> None:
            try:
                value = await getattr(commands, name)(*args, **kwargs)
            except Exception as exc:  # handed back to the caller, who raises it
                answer(call_id, False, f"{type(exc).__name__}: {exc}")
            else:
                answer(call_id, True, value)

        def start(call_id: int, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            task = loop.create_task(run(call_id, name, args, kwargs))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def read() -> None:  # a thread: a blocking recv must not stop the loop
            while True:
                try:
                    call_id, name, args, kwargs = conn.recv()
                except (EOFError, OSError):  # the parent is gone
                    name = "stop"
                if name == "stop":
                    loop.call_soon_threadsafe(stop.set)
                    return
                loop.call_soon_threadsafe(start, call_id, name, args, kwargs)

        threading.Thread(target=read, name="emulator-commands", daemon=True).start()
        answer(0, True, emu.base_url)
        await stop.wait()
        for task in tasks:
            task.cancel()


class RemoteEmulator:
    """An :class:`~sandbox.emulator.Emulator` served by a child process (see the module
    docstring); ``base_url`` is where the bot finds it once started."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        limits: FloodLimits | None = None,
        validate: bool = True,
    ) -> None:
        self.token = token
        self.limits = limits if limits is not None else FloodLimits()
        self.validate = validate
        self.clock = RealClock()
        self.base_url = ""
        self._conn: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._calls = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._sending = threading.Lock()
        self._reader: threading.Thread | None = None

    async def start(self) -> None:
        """Starts the child and waits until it serves. The child is a fresh interpreter
        running this module (forking a process that runs an event loop is unsafe, and
        multiprocessing's spawn would import the caller's main module again: the whole bot)."""
        mine, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.remote", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env=env,
            )
        finally:
            theirs.close()
        self._conn, self._process = Connection(mine.detach()), process
        self._conn.send((self.token, self.limits, self.validate))
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        self._waiting[0] = ready
        self._reader = threading.Thread(
            target=self._read, args=(loop,), name="emulator-answers", daemon=True
        )
        self._reader.start()
        self.base_url = await asyncio.wait_for(ready, START_TIMEOUT_SECONDS)

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        """A thread: hands each answer from the child to the call awaiting it."""
        assert self._conn is not None
        while True:
            try:
                call_id, ok, value = self._conn.recv()
            except Exception:  # gone (EOF, OSError), or an answer that cannot be read
                loop.call_soon_threadsafe(self._child_gone)
                return
            loop.call_soon_threadsafe(self._settle, call_id, ok, value)

    def _settle(self, call_id: int, ok: bool, value: Any) -> None:
        future = self._waiting.pop(call_id, None)
        if future is None or future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(RuntimeError(f"emulator process: {value}"))

    def _child_gone(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("the emulator process has gone"))
        self._waiting.clear()

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._conn is None:
            raise RuntimeError("emulator process not started")
        call_id = next(self._calls)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        with self._sending:
            self._conn.send((call_id, name, args, kwargs))
        return await future

    async def stop(self) -> None:
        """Stops the child (killed if it does not stop in time)."""
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            with self._sending, contextlib.suppress(OSError):
                conn.send((0, "stop", (), {}))
        if process is not None:
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if conn is not None:
            conn.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # The calls of an InProcessEmulator, each answered by the one in the child.
    async def add_users(self, names: list[str]) -> list[SimUser]:
        users: list[SimUser] = await self._call("add_users", names)
        return users

    async def send_text(self, user: SimUser, text: str) -> None:
        await self._call("send_text", user, text)

    async def wait_for(
        self,
        method: str,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 10.0,
        *,
        ok: bool | None = None,
    ) -> int:
        found: int = await self._call("wait_for", method, chat_id, count, timeout, ok=ok)
        return found

    async def requests_since(self, start: int) -> tuple[list[RequestSummary], int]:
        found: tuple[list[RequestSummary], int] = await self._call("requests_since", start)
        return found

    async def reset_limits(self) -> None:
        await self._call("reset_limits")


if __name__ == "__main__":
    # Through the module's own name, so that what the child pickles (RequestSummary) is
    # found under that name by the parent, not under ``__main__``.
    from sandbox.remote import _child as child

    child(int(sys.argv[1]))
