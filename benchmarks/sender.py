"""Benchmark: the outbox sender at Telegram's limits, with customers writing meanwhile (#9).

    .venv/bin/python -m benchmarks.sender --json --messages 750 --rate 25
    .venv/bin/python -m benchmarks.sender --json --messages 3000 --rate 1000 --paid

The real bot on the chosen framework (aiogram by default) polls the emulator, which enforces
Telegram's limits (1 message/s per chat with a burst of 3, 30/s bot-wide, or 1000/s for
requests sent with ``allow_paid_broadcast``), on the real clock, with its storage on a
temporary SQLite file. The emulator runs in a child process (:mod:`sandbox.remote`), as
Telegram runs on other machines: in the bot's own process and event loop it would charge the
bot for Telegram's half of every request too (``--emulator inline`` does that, for
comparison). Either way every figure below is counted from the requests the emulator received,
at the times it received them. The bot paces itself bot-wide at ``--rate`` (its
``RAPPORT_GLOBAL_MESSAGES_PER_SECOND``, or with ``--paid`` its
``RAPPORT_PAID_MESSAGES_PER_SECOND`` and ``RAPPORT_PAID_BROADCAST=true``); every other setting
is the default. Once the bot runs, its start-up heap is frozen, as ``rapport run`` does
(:func:`bot.app.runner.freeze_start_up_heap`).

1. **Broadcast.** `--messages` proactive outbox rows, one to each of as many distinct chats,
   are committed in one transaction and the bot's own :class:`~bot.core.outbox.OutboxSender`
   is woken; it sends them through the bot's one :class:`~bot.core.delivery.Delivery`.
2. **Service.** Meanwhile `--customers` customers take turns writing ``/help`` every
   `--every` seconds (by default sized for about 30 samples, between 0.5 s and 1 s, and so
   that one customer writes at most every 2 s: a chat takes 1 message/s). Each latency is
   measured from the moment the update is handed to the emulator to the moment the bot's
   answer arrives there: polling, the real Dispatcher, the handler, and the same Delivery
   (pacer and bot-wide turn) the broadcast is using. Only messages written while the
   broadcast ran count.
3. **Baseline**, in the same run, after the broadcast: a naive loop sends
   `--baseline-messages` messages to fresh chats one by one through the same framework's
   messenger, without pacing, sleeping ``retry_after`` on each 429 and sending again. The
   emulator's buckets are refilled first, as after a few idle seconds.

Printed (one JSON object with ``--json``): ``limit_per_s`` (the rate the bot was asked to keep,
`--rate`), ``telegram_limit_per_s`` (what the emulator enforces), ``achieved_per_s`` (messages
delivered / seconds from the commit of the rows to the last delivery), ``ratio``
(achieved / limit; the bot's bucket starts full, so a short run may exceed 1 slightly),
``cpu_ms_per_message`` (CPU time of the bot's process, all its threads, from the commit of
the rows until the broadcast is seen done, per message delivered: what the bot spends per send
whatever the machine's load; the emulator's process is not counted),
``http_429`` (429 answers to any send during the broadcast), ``sent`` (rows the outbox marked
sent), ``unfinished`` (rows still pending or sending when the run gave up waiting, after three
times the expected length plus 30 s), ``lost`` (recipients with no copy at the emulator,
unfinished rows aside), ``duplicates`` (copies beyond the first), the service latencies
(``service_p50_s``, ``service_p95_s``, ``service_max_s``, ``service_samples``), and
``baseline_ratio`` with the baseline's own figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app.bootstrap import Services
from bot.app.runner import RunningBot, freeze_start_up_heap
from bot.app.settings import Framework
from bot.core.errors import RateLimited
from bot.core.messages import Outgoing
from bot.core.outbox import Lane, enqueue_rendered
from bot.core.ports import Messenger, UnitOfWorkFactory
from sandbox import Emulator, FloodLimits, RealClock, SimUser
from sandbox.remote import InProcessEmulator, RemoteEmulator, RequestSummary
from storage.engine import make_engine
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import FRAMEWORKS, TOKEN, running_bot

SEND_METHODS = frozenset({"sendMessage", "copyMessage"})
TARGET_SAMPLES = 30
"""Service messages the default `--every` aims at over the broadcast's expected length."""
MAX_WRITE_PERIOD = 1.0
"""The longest default wait between two customer messages (any customer's)."""
MIN_WRITE_PERIOD = 0.5
"""The shortest default wait: two customer messages a second are a busy desk's load, and the
benchmark measures the broadcast, not how many conversations the bot can hold at once."""
CUSTOMER_PERIOD = 2.0
"""One customer writes at most every this many seconds, well within a chat's 1/s."""
POLL_SECONDS = 0.25
"""How often the benchmark counts deliveries at the emulator (the count runs in the bot's
process, on its CPU; the figures come from the emulator's own times, not from when it looked)."""
STATE_POLL_SECONDS = 2.0
"""How often it reads the outbox's states (a read opens a transaction: it competes with the
sender for SQLite's lock, so not too often)."""
FINAL_STATES = ("sent", "failed", "skipped")
SETTLE_SECONDS = 10.0
"""After the last delivery, how long the rows may take to be marked (a row still ``sending``
after that is stranded: its sender failed to record the outcome)."""
DEFAULT_MESSAGES = 750
DEFAULT_PAID_MESSAGES = 3000
DEFAULT_RATE = 25.0
DEFAULT_PAID_RATE = 1000.0
EMULATOR_PLACES = ("process", "inline")


@dataclass
class ServiceLog:
    """When each customer wrote (emulator clock), in order; answers are matched per chat."""

    written: dict[int, list[float]] = field(default_factory=dict)

    def wrote(self, chat_id: int, at: float) -> None:
        self.written.setdefault(chat_id, []).append(at)

    def latencies(self, requests: Sequence[RequestSummary], until: float) -> list[float]:
        """Seconds from each message written before `until` to its answer at the emulator
        (a customer's answers come in the order they wrote: one chat is served in turn)."""
        answers: dict[int, list[float]] = {}
        for r in requests:
            if r.method == "sendMessage" and r.ok and r.chat_id in self.written:
                answers.setdefault(r.chat_id, []).append(r.at)
        found: list[float] = []
        for chat_id, times in self.written.items():
            got = sorted(answers.get(chat_id, []))
            found += [a - w for w, a in zip(times, got, strict=False) if w <= until]
        return found


EmulatorControl = RemoteEmulator | InProcessEmulator
"""What the benchmark asks of the emulator, in another process or in this one."""


@contextlib.asynccontextmanager
async def emulator(where: str, limits: FloodLimits) -> AsyncIterator[EmulatorControl]:
    """The emulator, served by a child process (``process``) or by this one (``inline``)."""
    if where == "process":
        async with RemoteEmulator(token=TOKEN, limits=limits, validate=False) as remote:
            yield remote
    else:
        async with Emulator(token=TOKEN, limits=limits, validate=False, clock=RealClock()) as emu:
            yield InProcessEmulator(emu)


class Requests:
    """The requests the emulator received, fetched as they come (a cursor over its log)."""

    def __init__(self, emu: EmulatorControl) -> None:
        self.emu = emu
        self.seen: list[RequestSummary] = []

    async def fetch(self) -> list[RequestSummary]:
        """The requests received since the last fetch (they are also kept in :attr:`seen`)."""
        new, _total = await self.emu.requests_since(len(self.seen))
        self.seen += new
        return new


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


async def customers_write(
    emu: EmulatorControl,
    customers: Sequence[SimUser],
    every: float,
    log: ServiceLog,
    stop: asyncio.Event,
) -> None:
    """Customers take turns writing ``/help`` every `every` seconds until `stop`."""
    turn = 0
    while not stop.is_set():
        person = customers[turn % len(customers)]
        turn += 1
        log.wrote(person.id, emu.clock.monotonic())
        await emu.send_text(person, "/help")
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            continue


async def greet(emu: EmulatorControl, customers: Sequence[SimUser]) -> None:
    """Each customer writes once before the run, so the run measures answers, not sign-ups."""
    for person in customers:
        await emu.send_text(person, "/start")
    for person in customers:
        await emu.wait_for("sendMessage", chat_id=person.id, ok=True, timeout=60)


async def enqueue_broadcast(services: Services, recipients: Sequence[SimUser]) -> None:
    now = services.clock.now()
    async with services.uow() as uow:
        for i, person in enumerate(recipients):
            message = Outgoing(
                chat_id=person.id, text=f"[bcast-{i:05d}] news", template_key="bench.broadcast"
            )
            await enqueue_rendered(uow, message, key=f"bench:{i}", lane=Lane.PROACTIVE, now=now)
        await uow.commit()


@contextlib.asynccontextmanager
async def reader(services: Services) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work for the benchmark's own reads, on an engine of their own whose
    transactions do not take SQLite's write lock (``sqlite_immediate=False``): under load
    the bot's writers hold it, and a read of the benchmark must neither wait for them nor
    make them wait."""
    engine = make_engine(services.settings.database_url, sqlite_immediate=False)
    try:
        yield SqlUnitOfWorkFactory.from_engine(engine)
    finally:
        await engine.dispose()


async def outbox_states(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """The broadcast's (proactive) rows by state."""
    async with uow_factory() as uow:
        summary = await uow.outbox.summary(errors=0)
    return {state: n for (lane, state), n in summary.counts.items() if lane == "proactive"}


async def naive_loop(messenger: Messenger, recipients: Sequence[SimUser]) -> tuple[float, int]:
    """The baseline: send one by one, sleep ``retry_after`` on a 429 and send again. Returns
    the seconds from the first send to the last delivery, and the 429s collected."""
    refused = 0
    started = time.monotonic()
    for i, person in enumerate(recipients):
        message = Outgoing(chat_id=person.id, text=f"[naive-{i:05d}] news")
        while True:
            try:
                await messenger.send(message)
                break
            except RateLimited as exc:
                refused += 1
                await asyncio.sleep(exc.retry_after)
    return time.monotonic() - started, refused


def copies(requests: Sequence[RequestSummary], chat_ids: set[int]) -> Counter[int]:
    """Delivered sends per chat among `chat_ids`."""
    return Counter(
        r.chat_id
        for r in requests
        if r.method in SEND_METHODS and r.ok and r.chat_id is not None and r.chat_id in chat_ids
    )


async def run(
    messages: int,
    rate: float,
    *,
    paid: bool = False,
    framework: Framework = "aiogram",
    emulator_in: str = "process",
    customers: int = 20,
    every: float | None = None,
    baseline_messages: int | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Runs the benchmark; returns its figures (see the module docstring)."""
    limits = FloodLimits()  # Telegram's
    telegram_limit = limits.paid_broadcast_rate if paid else limits.global_rate
    expected = messages / rate
    every = every or min(
        MAX_WRITE_PERIOD,
        max(MIN_WRITE_PERIOD, CUSTOMER_PERIOD / customers, expected / TARGET_SAMPLES),
    )
    baseline_messages = messages // 5 if baseline_messages is None else baseline_messages
    timeout = timeout or 3 * expected + 30
    pacing: dict[str, Any] = (
        {"paid_broadcast": True, "paid_messages_per_second": rate}
        if paid
        else {"global_messages_per_second": rate}
    )
    with tempfile.TemporaryDirectory(prefix="rapport-sender-") as folder:
        wall = time.monotonic()
        marks: dict[str, float] = {}
        async with emulator(emulator_in, limits) as emu:
            now = emu.clock.monotonic
            people = await emu.add_users([f"Cust{i:02d}" for i in range(customers)])
            recipients = await emu.add_users([f"R{i:05d}" for i in range(messages)])
            naive = await emu.add_users([f"N{i:05d}" for i in range(baseline_messages)])
            async with (
                running_bot(emu, Path(folder) / "bot.db", framework, **pacing) as (bot, services),
                reader(services) as reads,
            ):
                freeze_start_up_heap()  # as `rapport run` does once the bot runs
                marks["started"] = time.monotonic()
                await greet(emu, people)
                marks["greeted"] = time.monotonic()
                log = ServiceLog()
                stop = asyncio.Event()
                await enqueue_broadcast(services, recipients)
                seen = Requests(emu)
                await seen.fetch()
                since = len(seen.seen)
                started = now()
                cpu_started = time.process_time()
                bot.outbox.wake()
                writing = asyncio.create_task(customers_write(emu, people, every, log, stop))
                targets = {p.id for p in recipients}
                try:
                    await wait_for_broadcast(seen, reads, targets, timeout)
                    cpu_s = time.process_time() - cpu_started
                    broadcast_end = max(
                        (r.at for r in seen.seen[since:] if r.ok and r.chat_id in targets),
                        default=now(),
                    )
                finally:
                    stop.set()
                    await writing
                await wait_for_answers(emu, log, timeout=60)
                states = await outbox_states(reads)
                await seen.fetch()
                run_requests = seen.seen[since:]
                await emu.reset_limits()  # as after a few idle seconds
                marks["broadcast"] = time.monotonic()
                baseline_s, baseline_429 = await naive_loop(bot.app.messenger, naive)
                await settle(bot)
                marks["baseline"] = time.monotonic()
        marks["stopped"] = time.monotonic()
    got = copies(run_requests, targets)
    last = max((r.at for r in run_requests if r.ok and r.chat_id in targets), default=started)
    elapsed = last - started
    delivered = len(got)
    unfinished = sum(n for state, n in states.items() if state not in FINAL_STATES)
    achieved = delivered / elapsed if elapsed > 0 else 0.0
    latencies = log.latencies(run_requests, broadcast_end)
    baseline_rate = baseline_messages / baseline_s if baseline_s > 0 else 0.0
    return {
        "framework": framework,
        "emulator": emulator_in,
        "paid": paid,
        "messages": messages,
        "limit_per_s": rate,
        "telegram_limit_per_s": telegram_limit,
        "achieved_per_s": round(achieved, 2),
        "ratio": round(achieved / rate, 3),
        "elapsed_s": round(elapsed, 2),
        "cpu_ms_per_message": round(1000 * cpu_s / delivered, 3) if delivered else None,
        "http_429": sum(1 for r in run_requests if r.method in SEND_METHODS and r.status == 429),
        "sent": states.get("sent", 0),
        "outbox_states": states,
        "delivered": delivered,
        "unfinished": unfinished,
        "lost": max(0, messages - delivered - unfinished),
        "duplicates": sum(n - 1 for n in got.values()),
        "service_latency": "customer update to the bot's answer at the emulator, through "
        "polling, the dispatcher and the Delivery the broadcast uses",
        "service_samples": len(latencies),
        "service_every_s": round(every, 3),
        "service_p50_s": rounded(statistics.median(latencies) if latencies else None),
        "service_p95_s": rounded(percentile(latencies, 0.95)),
        "service_max_s": rounded(max(latencies, default=None)),
        "baseline": "naive loop: one by one, no pacing, sleep retry_after on each 429",
        "baseline_messages": baseline_messages,
        "baseline_achieved_per_s": round(baseline_rate, 2),
        "baseline_ratio": round(baseline_rate / rate, 3),
        "baseline_http_429": baseline_429,
        "wall_s": {
            "bot_start": round(marks["started"] - wall, 1),
            "greetings": round(marks["greeted"] - marks["started"], 1),
            "broadcast": round(marks["broadcast"] - marks["greeted"], 1),
            "baseline": round(marks["baseline"] - marks["broadcast"], 1),
            "stop": round(marks["stopped"] - marks["baseline"], 1),
        },
    }


async def wait_for_broadcast(
    seen: Requests, reads: UnitOfWorkFactory, targets: set[int], timeout: float
) -> None:
    """Waits until every recipient has its message, or every row has reached a final state
    (a failed or skipped row sends nothing), or `timeout` seconds have passed: rows still
    pending or sending then are reported as ``unfinished``."""
    deadline = time.monotonic() + timeout
    looked = time.monotonic()
    reached: set[int] = set()
    while time.monotonic() < deadline:
        reached.update(copies(await seen.fetch(), targets))  # only what came since last look
        if len(reached) >= len(targets):
            break
        if time.monotonic() - looked > STATE_POLL_SECONDS:
            looked = time.monotonic()
            if await all_final(reads, len(targets)):
                return
        await asyncio.sleep(POLL_SECONDS)
    settled = min(deadline, time.monotonic() + SETTLE_SECONDS)
    while not await all_final(reads, len(targets)) and time.monotonic() < settled:
        await asyncio.sleep(POLL_SECONDS)


async def all_final(reads: UnitOfWorkFactory, total: int) -> bool:
    states = await outbox_states(reads)
    return sum(n for s, n in states.items() if s in FINAL_STATES) >= total


async def wait_for_answers(emu: EmulatorControl, log: ServiceLog, timeout: float) -> None:
    """Waits until every customer message written has been answered."""
    for chat_id, times in log.written.items():
        await emu.wait_for(
            "sendMessage", chat_id=chat_id, count=len(times), ok=True, timeout=timeout
        )


async def settle(bot: RunningBot) -> None:
    """Lets updates still in flight finish before the bot stops."""
    deadline = time.monotonic() + 30
    while bot.dispatcher.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)


def describe(figures: dict[str, Any]) -> str:
    f = figures
    return "\n".join(
        [
            f"framework {f['framework']}{', paid broadcast' if f['paid'] else ''}: "
            f"{f['messages']} proactive messages at {f['limit_per_s']:g}/s "
            f"(Telegram's limit here {f['telegram_limit_per_s']:g}/s)",
            f"achieved {f['achieved_per_s']:.2f}/s in {f['elapsed_s']:.2f} s: "
            f"ratio {f['ratio']:.3f}, {f['http_429']} × 429, "
            f"{f['cpu_ms_per_message']} ms of the bot's CPU per message",
            f"sent {f['sent']}, delivered {f['delivered']}, lost {f['lost']}, "
            f"duplicates {f['duplicates']}; outbox {f['outbox_states']}",
            f"service answers during the broadcast: {f['service_samples']} samples, "
            f"p50 {f['service_p50_s']} s, p95 {f['service_p95_s']} s, max {f['service_max_s']} s",
            f"baseline (naive loop, {f['baseline_messages']} messages): "
            f"{f['baseline_achieved_per_s']:.2f}/s, ratio {f['baseline_ratio']:.3f}, "
            f"{f['baseline_http_429']} × 429",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, help="proactive messages (750; 3000 paid)")
    parser.add_argument("--rate", type=float, help="bot-wide rate asked for (25; 1000 paid)")
    parser.add_argument("--paid", action="store_true", help="paid broadcast mode")
    parser.add_argument("--framework", choices=FRAMEWORKS, default="aiogram")
    parser.add_argument(
        "--emulator",
        choices=EMULATOR_PLACES,
        default="process",
        help="serve the emulator from a child process (default) or from this one",
    )
    parser.add_argument("--customers", type=int, default=20, help="customers writing")
    parser.add_argument("--every", type=float, help="seconds between two customer messages")
    parser.add_argument("--baseline-messages", type=int, help="naive loop's messages (N/5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    messages = args.messages or (DEFAULT_PAID_MESSAGES if args.paid else DEFAULT_MESSAGES)
    rate = args.rate or (DEFAULT_PAID_RATE if args.paid else DEFAULT_RATE)
    figures = asyncio.run(
        run(
            messages,
            rate,
            paid=args.paid,
            framework=args.framework,
            emulator_in=args.emulator,
            customers=args.customers,
            every=args.every,
            baseline_messages=args.baseline_messages,
        )
    )
    print(json.dumps(figures) if args.json else describe(figures))


if __name__ == "__main__":
    main()
