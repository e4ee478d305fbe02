"""Benchmark: the agent desk under a burst, with Telegram's real limits (issue #4).

    .venv/bin/python -m benchmarks.desk_burst --customers 100 --agents 4 --framework aiogram
    .venv/bin/python -m benchmarks.desk_burst --virtual   # the same, on virtual time

The scenario of ``tests/e2e/test_desk_burst.py`` outside pytest: the real bot on the chosen
framework polls the emulator with its default flood control (1 message/s per chat with a burst
of 3, 30/s bot-wide, 20/min per group) and its own default pacing. `--agents` agents have
taken over the chats of `--customers` customers (round-robin, direct mode: a customer's
messages are relayed to the agent's private chat); every customer writes once, all at once,
and the first agent answers one of them as soon as the first relayed message arrives.

Printed: the time from the burst to the last relayed message, each agent chat's relay rate,
the 429 answers, the agent's answer latency, and, as the baseline, the least time Telegram's
limits allow for the same messages: per agent chat ``(messages - burst) / per-chat rate``
(the first `burst` go at once), and bot-wide ``(messages - global burst) / global rate``;
the larger of the two. The ratio measured / minimum shows how close pacing gets to the limit.

With ``--virtual`` the emulator and the bot share a :class:`~sandbox.VirtualClock`: the waits
Telegram's limits impose pass at once, and the figures are in virtual seconds (the time the
limits cost a real bot), so the benchmark runs in a fraction of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.app.settings import Framework
from sandbox import Emulator, FloodLimits, VirtualClock
from tests.e2e.conftest import FRAMEWORKS, TOKEN, running_bot
from tests.e2e.test_desk_burst import answer_first_relay, marker, sends, settled, taken_over_desk


@dataclass(frozen=True)
class AgentFigures:
    name: str
    messages: int
    first_at: float
    last_at: float

    @property
    def rate(self) -> float:
        span = self.last_at - self.first_at
        return (self.messages - 1) / span if span > 0 else math.inf


def least_time(per_agent: list[int], total: int, limits: FloodLimits) -> float:
    """Seconds Telegram's limits need, at best, from the first relayed message to the last."""
    chat = max(max(0, m - limits.per_chat_burst) / limits.per_chat_rate for m in per_agent)
    overall = max(0, total - limits.global_burst) / limits.global_rate
    return max(chat, overall)


async def run(customers: int, agents: int, framework: Framework, virtual: bool = False) -> None:
    limits = FloodLimits()  # Telegram's defaults
    with tempfile.TemporaryDirectory(prefix="rapport-burst-") as folder:
        async with contextlib.AsyncExitStack() as stack:
            clock = (
                await stack.enter_async_context(VirtualClock(follow_real_time=True))
                if virtual
                else None
            )
            emu = await stack.enter_async_context(
                Emulator(token=TOKEN, limits=limits, clock=clock)
            )
            now = emu.clock.monotonic  # the clock the limits (and the bot) go by
            group = emu.add_forum_group("Care desk")
            database = Path(folder) / "bot.db"
            async with running_bot(emu, database, framework, staff_chat_id=group.id) as (
                app,
                services,
            ):
                set_up = time.monotonic()
                desk = await taken_over_desk(emu, services, customers, agents)
                set_up = time.monotonic() - set_up
                since = len(emu.requests)
                emu.mark()
                started = now()
                for i, person in enumerate(desk.customers):
                    await emu.send_text(person, f"{marker(i)} the lid still does not close")

                first_agent = desk.agents[0]
                found = await emu.wait_for("sendMessage", chat_id=first_agent.id, ok=True)
                first = found[0]
                asked = now()
                await answer_first_relay(emu, services, desk, first, first_agent, 60)
                answer_latency = now() - asked

                share = {a.id: 0 for a in desk.agents}
                for person in desk.customers:
                    share[desk.agent_of[person.id].id] += 1
                for agent in desk.agents:
                    await emu.wait_for(
                        "sendMessage",
                        chat_id=agent.id,
                        count=share[agent.id],
                        ok=True,
                        timeout=600,
                    )
                await settled(app.dispatcher, timeout=60)
        requests = sends(emu.requests[since:])
    refused = sum(1 for r in requests if r.status == 429)
    figures = []
    for agent in desk.agents:
        times = [r.at for r in requests if r.ok and r.chat_id == agent.id]
        figures.append(AgentFigures(agent.first_name, len(times), min(times), max(times)))
    last = max(f.last_at for f in figures)
    total = last - started
    relaying = last - min(f.first_at for f in figures)
    minimum = least_time([f.messages for f in figures], customers, limits)

    print(
        f"framework {framework}: {customers} customers, {agents} agents (direct mode)"
        + (", virtual time" if virtual else "")
    )
    print(
        f"limits: {limits.per_chat_rate:g}/s per chat (burst {limits.per_chat_burst}), "
        f"{limits.global_rate:g}/s bot-wide, {limits.group_per_minute:g}/min per group"
    )
    print(f"set-up (tickets and take-overs in the database): {set_up:.2f} s")
    print(f"burst to last relayed message:        {total:7.2f} s")
    print(f"first to last relayed message:        {relaying:7.2f} s")
    print(
        f"least time under Telegram's limits:   {minimum:7.2f} s  (ratio {relaying / minimum:.3f})"
    )
    for f in figures:
        print(
            f"  {f.name}: {f.messages} messages in {f.last_at - f.first_at:6.2f} s, "
            f"{f.rate:.3f} msg/s after the first"
        )
    print(f"429 answers: {refused} (of {len(requests)} send requests)")
    print(f"agent's answer reached the customer in {answer_latency:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--framework", choices=FRAMEWORKS, default="aiogram")
    parser.add_argument(
        "--virtual", action="store_true", help="virtual time shared by emulator and bot"
    )
    args = parser.parse_args()
    asyncio.run(run(args.customers, args.agents, args.framework, args.virtual))


if __name__ == "__main__":
    main()
