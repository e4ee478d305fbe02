"""Benchmark: a marketing campaign at Telegram's limits, with customers writing meanwhile (#11).

    .venv/bin/python -m benchmarks.campaign --json --recipients 20000
    .venv/bin/python -m benchmarks.campaign --json --enqueue-only --recipients 5000

The real bot on the chosen framework (aiogram by default) polls the emulator, which enforces
Telegram's limits, on the real clock, with its storage on a temporary SQLite file — the
emulator, its limits, the customers writing and the figures drawn from the emulator's own
request log are :mod:`benchmarks.sender`'s. Every setting is the default but the bot-wide rate
(`--rate`, or with `--paid` the paid broadcast rate), the quiet hours (none, so the run does
not depend on the time of day) and the campaign tick (`--tick-seconds`):

1. `--recipients` customers, each with a chat with the bot, in the mid tier and with marketing
   consent, are written to the database (not timed), and `--customers` others greet the bot.
2. A campaign to the mid tier (one message, its link and opt-out buttons) is created and
   scheduled now. The benchmark then runs the campaign job
   (:func:`bot.app.jobs.campaigns.tick`) every `--tick-seconds`, as the scheduler does every
   ``RAPPORT_CAMPAIGN_TICK_SECONDS`` (the bot's own scheduler is given a day between ticks,
   so each tick is the benchmark's and is timed): the first tick freezes the audience and
   writes the first ``RAPPORT_CAMPAIGN_QUEUE_AHEAD`` messages to the outbox, later ones top
   it up as the bot's outbox sender drains it.
3. Meanwhile the customers take turns writing ``/help`` (:func:`benchmarks.sender.
   customers_write`); each latency runs from the update handed to the emulator to the bot's
   answer there.
4. Once every recipient has the message (or every row is final, or the run times out) a last
   tick ends the run and the campaign's report is read.

Printed (one JSON object with ``--json``): ``recipients``, ``limit_per_s`` (the rate the bot
was asked to keep), ``telegram_limit_per_s``, ``achieved_per_s`` (campaign messages delivered
/ seconds from the first campaign delivery to the last, at the emulator), ``ratio``
(achieved / limit), ``achieved_from_schedule_per_s`` (the same from the moment the campaign was
scheduled: freezing the audience included), ``http_429`` (429 answers to any send during the
run), ``delivered``, ``duplicates``, ``lost``, ``service_p50_s`` / ``service_p95_s`` /
``service_max_s`` / ``service_samples``, ``first_tick_s`` (freezing the whole audience and
writing the first queue-ahead messages), ``ticks_s`` (all ticks together: freezing, deciding
and enqueueing every recipient), ``enqueue_ms_per_recipient`` (``ticks_s`` per recipient),
``tick_errors`` (the error type of each tick that failed; the next one carries on),
``report`` (the report's counts), ``report_adds_up`` (the counts sum to the audience, and the
audience is exactly the recipients), ``campaign_state`` and ``seconds`` (from scheduling to the
last delivery).

``--enqueue-only`` runs no bot and no emulator: it times one tick that freezes and decides the
whole audience (``RAPPORT_CAMPAIGN_QUEUE_AHEAD`` above the audience size) into the outbox on
a temporary SQLite file, and prints ``enqueue_s`` and ``enqueue_ms_per_recipient``. It uses
only the campaign use cases' public names, so it runs unchanged on older code for a
before/after comparison (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.sender import (
    DEFAULT_PAID_RATE,
    DEFAULT_RATE,
    EMULATOR_PLACES,
    SEND_METHODS,
    Requests,
    ServiceLog,
    copies,
    customers_write,
    emulator,
    greet,
    percentile,
    reader,
    rounded,
    settle,
    wait_for_answers,
    wait_for_broadcast,
)
from bot.app.bootstrap import build_language
from bot.app.jobs import campaigns as campaign_job
from bot.app.policies import policies
from bot.app.runner import RunningBot, freeze_start_up_heap
from bot.app.settings import Framework, Settings
from bot.core.campaigns.model import (
    Action,
    CampaignAudience,
    CampaignSpec,
    LinkButton,
    LocaleMessage,
    Schedule,
)
from bot.core.consent import ConsentChange, ConsentSource
from bot.core.engagement.playbook import Audience
from bot.core.models import Customer
from bot.core.ports import UnitOfWorkFactory
from bot.core.services import campaigns as service
from bot.core.tiers import Tier
from sandbox import FloodLimits, RealClock, SimUser
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import CustomerTierRow
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import FRAMEWORKS, running_bot
from tests.e2e.test_consent import NO_QUIET_HOURS

DEFAULT_RECIPIENTS = 20_000
SEED_BATCH = 500
"""Customers written per transaction while seeding (not timed)."""
SCHEDULER_OFF_SECONDS = 86_400
"""The bot's own campaign job interval during the run: the benchmark ticks instead."""
TARGET_SAMPLES = 30
"""Service messages the default `--every` aims at over the run's expected length."""


def spec() -> CampaignSpec:
    return CampaignSpec(
        name="Benchmark",
        audience=CampaignAudience((Audience(tiers=frozenset({Tier.MID})),)),
        messages={
            "en": LocaleMessage(
                text="Hello {name}, the spring teas are here.",
                buttons=(LinkButton("Shop now", "https://shop.example/spring"),),
            )
        },
        schedule=Schedule(),
    )


async def seed_audience(uow: UnitOfWorkFactory, people: Sequence[tuple[int, str]]) -> None:
    """Each (chat id, name) as a customer linked to that chat, in the mid tier, with
    marketing consent; `SEED_BATCH` per transaction."""
    now = datetime.now(UTC)
    for start in range(0, len(people), SEED_BATCH):
        async with uow() as work:
            for chat_id, name in people[start : start + SEED_BATCH]:
                customer = await work.customers.add(
                    Customer(chat_id, chat_id, name, name, now, now, language="en")
                )
                assert customer.id is not None
                await work.records.record_consent(
                    ConsentChange(customer.id, True, ConsentSource.IMPORT, now)
                )
                work.session.add(  # type: ignore[attr-defined]
                    CustomerTierRow(
                        customer_id=customer.id,
                        as_of=now.date(),
                        tier=Tier.MID.value,
                        lifecycle="active",
                        frequency=2,
                        monetary_cents=10_000,
                    )
                )
            await work.commit()


async def schedule_now(tools: service.CampaignTools) -> int:
    """Creates the benchmark's campaign and schedules it now; its id."""
    campaign = await service.create(tools, spec(), "benchmark")
    assert campaign.id is not None
    await service.change(tools, campaign.id, Action.SCHEDULE)
    return campaign.id


async def enqueue_only(recipients: int) -> dict[str, Any]:
    """One tick freezing and deciding `recipients` customers into the outbox, timed."""
    with tempfile.TemporaryDirectory(prefix="rapport-campaign-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bot.db'}"
        given: dict[str, Any] = {
            "database_url": url,
            "default_timezone": "UTC",
            "campaign_queue_ahead": recipients + Settings().campaign_batch_size,  # all in one
            **NO_QUIET_HOURS,
        }
        settings = Settings(**given)
        engine = make_engine(url)
        try:
            await upgrade(url, engine=engine)
            uow = SqlUnitOfWorkFactory.from_engine(engine)
            await seed_audience(uow, [(10_000 + i, f"R{i:05d}") for i in range(recipients)])
            renderer = build_language(settings)[0]
            tools = service.CampaignTools(uow, renderer, policies(settings), RealClock())
            await schedule_now(tools)
            started = time.perf_counter()
            ticked = await service.tick(tools)
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
    return {
        "mode": "enqueue-only",
        "recipients": recipients,
        "decided": dict(ticked.decided),
        "enqueue_s": round(seconds, 2),
        "enqueue_ms_per_recipient": round(1000 * seconds / recipients, 3),
        "batch_size": settings.campaign_batch_size,
    }


class Ticker:
    """Runs the campaign job every `every` seconds, as the scheduler would, timing each."""

    def __init__(self, bot: RunningBot, every: float) -> None:
        self.bot, self.every = bot, every
        self.durations: list[float] = []
        self.errors: list[str] = []
        """A tick that failed (the scheduler would log it and tick again): its error type."""
        self.stop = asyncio.Event()

    async def tick(self) -> None:
        started = time.perf_counter()
        try:
            await campaign_job.tick(self.bot.dispatcher)
        except Exception as exc:  # as the scheduler: counted, and the next tick carries on
            self.errors.append(type(exc).__name__)
        self.durations.append(time.perf_counter() - started)

    async def run(self) -> None:
        while not self.stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.every)


async def run(
    recipients: int,
    rate: float,
    *,
    paid: bool = False,
    framework: Framework = "aiogram",
    emulator_in: str = "process",
    customers: int = 20,
    every: float | None = None,
    tick_seconds: float | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Runs the benchmark; returns its figures (see the module docstring)."""
    limits = FloodLimits()  # Telegram's
    telegram_limit = limits.paid_broadcast_rate if paid else limits.global_rate
    expected = recipients / rate
    every = every or min(1.0, max(0.5, 2.0 / customers, expected / TARGET_SAMPLES))
    tick_seconds = tick_seconds or float(Settings().campaign_tick_seconds)
    timeout = timeout or 3 * expected + 60
    settings: dict[str, Any] = {
        **NO_QUIET_HOURS,
        "campaign_tick_seconds": SCHEDULER_OFF_SECONDS,
        **(
            {"paid_broadcast": True, "paid_messages_per_second": rate}
            if paid
            else {"global_messages_per_second": rate}
        ),
    }
    with tempfile.TemporaryDirectory(prefix="rapport-campaign-") as folder:
        async with emulator(emulator_in, limits) as emu:
            now = emu.clock.monotonic
            people = await emu.add_users([f"Cust{i:02d}" for i in range(customers)])
            targets_users: list[SimUser] = await emu.add_users(
                [f"R{i:05d}" for i in range(recipients)]
            )
            targets = {p.id for p in targets_users}
            async with (
                running_bot(emu, Path(folder) / "bot.db", framework, **settings) as (
                    bot,
                    services,
                ),
                reader(services) as reads,
            ):
                freeze_start_up_heap()  # as `rapport run` does once the bot runs
                await greet(emu, people)
                await seed_audience(services.uow, [(p.id, p.first_name) for p in targets_users])
                seen = Requests(emu)
                await seen.fetch()
                since = len(seen.seen)
                tools = service.CampaignTools.of(bot.dispatcher.deps)
                log = ServiceLog()
                stop = asyncio.Event()
                ticker = Ticker(bot, tick_seconds)
                started = now()
                cid = await schedule_now(tools)
                ticking = asyncio.create_task(ticker.run())
                writing = asyncio.create_task(customers_write(emu, people, every, log, stop))
                try:
                    await wait_for_broadcast(seen, reads, targets, timeout)
                finally:
                    stop.set()
                    await writing
                    ticker.stop.set()
                    await ticking
                run_requests = seen.seen[since:]
                sends = [r for r in run_requests if r.ok and r.chat_id in targets]
                end = max((r.at for r in sends), default=now())
                await wait_for_answers(emu, log, timeout=60)
                await ticker.tick()  # every recipient decided: the run ends
                report = await service.report(tools, cid)
                shown = await service.overview(tools, cid)
                await seen.fetch()
                run_requests = seen.seen[since:]
                await settle(bot)
    got = copies(run_requests, targets)
    first = min((r.at for r in sends), default=started)
    delivered = len(got)
    achieved = delivered / (end - first) if end > first else 0.0
    latencies = log.latencies(run_requests, end)
    counts = {k: dict(v) if isinstance(v, dict) else v for k, v in _counts(report).items()}
    ticks_s = sum(ticker.durations)
    return {
        "framework": framework,
        "emulator": emulator_in,
        "paid": paid,
        "recipients": recipients,
        "limit_per_s": rate,
        "telegram_limit_per_s": telegram_limit,
        "achieved_per_s": round(achieved, 2),
        "ratio": round(achieved / rate, 3),
        "achieved_from_schedule_per_s": round(delivered / (end - started), 2)
        if end > started
        else 0.0,
        "http_429": sum(1 for r in run_requests if r.method in SEND_METHODS and r.status == 429),
        "delivered": delivered,
        "duplicates": sum(n - 1 for n in got.values()),
        "lost": recipients - delivered,
        "service_samples": len(latencies),
        "service_every_s": round(every, 3),
        "service_p50_s": rounded(statistics.median(latencies) if latencies else None),
        "service_p95_s": rounded(percentile(latencies, 0.95)),
        "service_max_s": rounded(max(latencies, default=None)),
        "tick_seconds": tick_seconds,
        "ticks": len(ticker.durations),
        "tick_errors": ticker.errors,
        "first_tick_s": round(ticker.durations[0], 2) if ticker.durations else None,
        "ticks_s": round(ticks_s, 2),
        "enqueue_ms_per_recipient": round(1000 * ticks_s / recipients, 3),
        "report": counts,
        "report_adds_up": bool(report.adds_up and report.audience == recipients),
        "campaign_state": shown.campaign.state.value,
        "seconds": round(end - started, 2),
    }


REPORT_COUNTS = (
    "audience",
    "holdout",
    "sent",
    "failed",
    "blocked",
    "skipped_consent",
    "skipped_cap",
    "unworded",
    "cancelled",
    "waiting",
)


def _counts(report: Any) -> dict[str, Any]:
    """The report's counts (not its per-customer revenue figures)."""
    return {name: getattr(report, name) for name in REPORT_COUNTS}


def describe(figures: dict[str, Any]) -> str:
    f = figures
    if f.get("mode") == "enqueue-only":
        return (
            f"one tick froze and queued {f['recipients']} recipients in {f['enqueue_s']} s "
            f"({f['enqueue_ms_per_recipient']} ms each): {f['decided']}"
        )
    return "\n".join(
        [
            f"framework {f['framework']}{', paid broadcast' if f['paid'] else ''}: a campaign "
            f"to {f['recipients']} at {f['limit_per_s']:g}/s "
            f"(Telegram's limit here {f['telegram_limit_per_s']:g}/s)",
            f"achieved {f['achieved_per_s']:.2f}/s: ratio {f['ratio']:.3f}, "
            f"{f['http_429']} × 429; {f['seconds']} s from scheduling to the last delivery",
            f"delivered {f['delivered']}, lost {f['lost']}, duplicates {f['duplicates']}; "
            f"report adds up: {f['report_adds_up']} ({f['campaign_state']})",
            f"ticks: first {f['first_tick_s']} s (freeze + first queue), all {f['ticks_s']} s "
            f"({f['enqueue_ms_per_recipient']} ms a recipient)",
            f"service answers: {f['service_samples']} samples, p50 {f['service_p50_s']} s, "
            f"p95 {f['service_p95_s']} s, max {f['service_max_s']} s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recipients", type=int, default=DEFAULT_RECIPIENTS)
    parser.add_argument("--rate", type=float, help="bot-wide rate asked for (25; 1000 paid)")
    parser.add_argument("--paid", action="store_true", help="paid broadcast mode")
    parser.add_argument("--framework", choices=FRAMEWORKS, default="aiogram")
    parser.add_argument("--emulator", choices=EMULATOR_PLACES, default="process")
    parser.add_argument("--customers", type=int, default=20, help="customers writing")
    parser.add_argument("--every", type=float, help="seconds between two customer messages")
    parser.add_argument(
        "--tick-seconds", type=float, help="between campaign ticks (the setting's default)"
    )
    parser.add_argument(
        "--enqueue-only", action="store_true", help="time freezing and enqueueing only"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.enqueue_only:
        figures = asyncio.run(enqueue_only(args.recipients))
    else:
        figures = asyncio.run(
            run(
                args.recipients,
                args.rate or (DEFAULT_PAID_RATE if args.paid else DEFAULT_RATE),
                paid=args.paid,
                framework=args.framework,
                emulator_in=args.emulator,
                customers=args.customers,
                every=args.every,
                tick_seconds=args.tick_seconds,
            )
        )
    print(json.dumps(figures) if args.json else describe(figures))


if __name__ == "__main__":
    main()
