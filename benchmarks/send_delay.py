"""How long a paced request takes to arrive: the spread that the pacing margin must cover.

The pacer (:mod:`bot.core.pacing`) counts a request when it lets it go; Telegram counts it when
it arrives. Between the two lie the event loop's other work, a wait for a free connection and
the network: a delay d per request. Arrivals can then bunch up by the spread of d, and when the
spread exceeds ``RAPPORT_PACING_MARGIN_SECONDS`` the bot outruns Telegram's bucket at the bottom
of it and earns 429s (docs/performance.md, "The send window stays full", the cause measured).

This runs the paid sender benchmark (:func:`benchmarks.sender.run`, the emulator in its own
process) with :meth:`bot.core.pacing.Pacer.record` wrapped to note when each chat's message was
counted, and compares that with the emulator's arrival time for the chat's first send (both on
the machine's monotonic clock). It prints one JSON object: the benchmark's ratio and 429s, and
d's percentiles in milliseconds.

    PYTHONPATH=. .venv/bin/python -m benchmarks.send_delay --framework aiogram
    RAPPORT_PACING_MARGIN_SECONDS=0.05 PYTHONPATH=. .venv/bin/python -m benchmarks.send_delay
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from benchmarks import sender
from bot.app.settings import Settings
from bot.core.pacing import Pacer
from sandbox.remote import RequestSummary


def measure(framework: str, messages: int, rate: float) -> dict[str, Any]:
    """Runs the paid benchmark once with the pacer's counts noted; returns the figures."""
    counted: dict[int, float] = {}
    requests: list[sender.Requests] = []
    record, fetch = Pacer.record, sender.Requests.fetch

    def noting(self: Pacer, chat_id: int, now: float) -> None:
        counted.setdefault(chat_id, time.monotonic())
        record(self, chat_id, now)

    async def keeping(self: sender.Requests) -> list[RequestSummary]:
        requests.append(self)
        return await fetch(self)

    Pacer.record = noting  # type: ignore[method-assign]
    sender.Requests.fetch = keeping  # type: ignore[method-assign]
    try:
        figures = asyncio.run(
            sender.run(messages, rate, paid=True, framework=framework)  # type: ignore[arg-type]
        )
    finally:
        Pacer.record, sender.Requests.fetch = record, fetch  # type: ignore[method-assign]
    first: dict[int, RequestSummary] = {}
    for r in requests[-1].seen:
        if r.method in sender.SEND_METHODS and r.chat_id in counted:
            first.setdefault(r.chat_id, r)
    delays = sorted(r.at - counted[chat] for chat, r in first.items())
    return {
        "framework": framework,
        "margin_s": Settings(bot_token="0:probe").pacing_margin_seconds,
        "ratio": figures["ratio"],
        "http_429": figures["http_429"],
        "requests": len(delays),
        **{
            f"delay_ms_{name}": round((sender.percentile(delays, share) or 0.0) * 1e3, 1)
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "delay_spread_ms": round((delays[-1] - delays[0]) * 1e3, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=("aiogram", "ptb"), default="aiogram")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.framework, args.messages, args.rate)))


if __name__ == "__main__":
    main()
