"""The agent desk under a burst, through aiogram AND python-telegram-bot, with Telegram's real
limits on both sides: the emulator's default flood control (1 message/s per chat with a burst
of 3, 30/s bot-wide, 20/min per group) and the bot's default pacing.

100 customers whose chats four agents have taken over (25 each, direct mode) all write at
once. Every message must reach its agent's private chat exactly once, the customers get no
bot reply (a person has their chat), an agent's answer during the burst gets through, and any
429 the emulator answers is rare and followed by a successful retry of the same message.

Both sides go by one virtual clock (the ``emulator`` fixture's), so the minute or so the
limits impose passes at once; the emulator still judges every request by the time the bot
paced it on, so a bot that sends too early collects 429s and fails the test. The test also
checks that the limits really did set the pace: the relay took at least the virtual time
Telegram's limits require.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app.bootstrap import Services
from bot.app.policies import policies as policies_of
from bot.app.settings import Framework
from bot.core.dispatch import Dispatcher
from bot.core.messages import Sender
from bot.core.roles import Role, StaffMember
from bot.core.services.customers import upsert_customer
from bot.core.services.desk import take_over
from bot.core.services.tickets import Intake, open_ticket
from bot.core.triage import Severity
from sandbox import Emulator, SimUser
from sandbox.emulator import RecordedRequest
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS, enroll_staff, running_bot

pytestmark = BOT_DATABASE

CUSTOMERS = 100
AGENTS = 4
MAX_429 = 5
"""Pacing keeps within the limits by construction; a few 429s from network jitter would be
absorbed by the retry, more would mean the pacing is wrong."""
SEND_METHODS = ("sendMessage", "copyMessage")


def marker(index: int) -> str:
    return f"[burst-{index:03d}]"


@dataclass(frozen=True)
class Desk:
    """Who is who in the scenario: each customer's chat is taken over by `agent_of[id]`."""

    agents: list[SimUser]
    customers: list[SimUser]
    agent_of: dict[int, SimUser]


async def taken_over_desk(
    emu: Emulator, services: Services, customers: int = CUSTOMERS, agents: int = AGENTS
) -> Desk:
    """`agents` agents on the roster and `customers` customers, each with an open ticket whose
    chat an agent has taken over (spread round-robin), made directly in the database; the
    replies those services return (acknowledgements, cards) are not sent."""
    staff = [emu.add_user(f"Agent{i}", username=f"agent{i}") for i in range(agents)]
    people = [emu.add_user(f"Cust{i:03d}", last_name="Burst") for i in range(customers)]
    for agent in staff:
        await enroll_staff(services, agent, Role.AGENT)
    settings = policies_of(services.settings)
    policy = settings.sla
    agent_of: dict[int, SimUser] = {}
    async with services.uow() as uow:
        roster: dict[int, StaffMember] = {}
        for agent in staff:
            member = await uow.staff.get(agent.id)
            assert member is not None
            roster[agent.id] = member
        for i, person in enumerate(people):
            now = services.clock.now()
            sender = Sender(person.id, person.first_name, person.last_name, language_code="en")
            customer = await upsert_customer(uow, sender, person.id, now)
            outcome = await open_ticket(
                uow,
                customer,
                Intake(text=f"the kettle {i} arrived broken", severity=Severity.QUALITY),
                now=now,
                policy=policy,
                policies=settings,
                tier=None,
            )
            assert outcome.ticket.id is not None
            agent = staff[i % agents]
            await take_over(
                uow,
                outcome.ticket.id,
                roster[agent.id],
                now=now,
                policies=settings,
                locales=services.renderer.locales,
            )
            agent_of[person.id] = agent
        await uow.commit()
    return Desk(staff, people, agent_of)


def sends(requests: Sequence[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.method in SEND_METHODS]


def relayed(requests: Sequence[RecordedRequest], agent: SimUser) -> list[str]:
    """Texts of the messages successfully sent into `agent`'s private chat."""
    return [
        str(r.params.get("text", ""))
        for r in requests
        if r.method == "sendMessage" and r.ok and r.chat_id == agent.id
    ]


def unretried_429s(requests: Sequence[RecordedRequest]) -> list[RecordedRequest]:
    """429 answers not followed by a successful send of the same message to the same chat."""
    missing = []
    for i, refused in enumerate(requests):
        if refused.status != 429:
            continue
        same = {k: v for k, v in refused.params.items() if k != "reply_markup"}
        if not any(
            later.ok
            and later.method == refused.method
            and all(later.params.get(k) == v for k, v in same.items())
            for later in requests[i + 1 :]
        ):
            missing.append(refused)
    return missing


async def logged(services: Services, chat_id: int, message_id: int, timeout: float) -> None:
    """Waits until the bot has recorded its message `message_id` in `chat_id` (an agent can
    reply to it only then; a person never replies within milliseconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with services.uow() as uow:
            if await uow.messages.find_sent(chat_id, message_id) is not None:
                return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"message {message_id} in chat {chat_id} was never logged")


async def settled(dispatcher: Dispatcher, timeout: float) -> None:
    """Waits until the dispatcher has no update in flight (a stuck chat lock never gets
    there)."""
    deadline = time.monotonic() + timeout
    while dispatcher.in_flight:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dispatcher.in_flight} updates still in flight: a stuck chat?")
        await asyncio.sleep(0.01)


async def answer_first_relay(
    emu: Emulator,
    services: Services,
    desk: Desk,
    first: RecordedRequest,
    agent: SimUser,
    timeout: float,
) -> SimUser:
    """The agent replies to the first message relayed to them, mid-burst; returns the customer
    it was for once the answer has reached them."""
    answered: SimUser = next(
        p for i, p in enumerate(desk.customers) if marker(i) in first.params["text"]
    )
    relayed_id = first.result["message_id"]
    await logged(services, agent.id, relayed_id, timeout=timeout)
    await emu.send_message(agent, text="A new lid ships today.", reply_to_message_id=relayed_id)
    await emu.wait_for(
        "copyMessage",
        chat_id=answered.id,
        ok=True,
        timeout=timeout,
        predicate=lambda r: r.params.get("from_chat_id") == agent.id,
    )
    return answered


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_burst_of_100_customers_reaches_their_agents_completely(
    framework: Framework, emulator: Emulator, tmp_path: Path
) -> None:
    emu = emulator  # Telegram's default limits
    group = emu.add_forum_group("Care desk")
    async with running_bot(emu, tmp_path / "bot.db", framework, staff_chat_id=group.id) as (
        app,
        services,
    ):
        desk = await taken_over_desk(emu, services)
        emu.mark()
        since = len(emu.requests)
        started, virtual_start = time.monotonic(), emu.clock.monotonic()
        for i, person in enumerate(desk.customers):
            await emu.send_text(person, f"{marker(i)} the lid still does not close, please help")

        # One agent answers a customer while the burst is being relayed.
        first_agent = desk.agents[0]
        first = (await emu.wait_for("sendMessage", chat_id=first_agent.id, ok=True, timeout=30))[0]
        answered = await answer_first_relay(emu, services, desk, first, first_agent, 30)

        for agent in desk.agents:
            await emu.wait_for(
                "sendMessage", chat_id=agent.id, count=CUSTOMERS // AGENTS, ok=True, timeout=120
            )
        relayed_in = time.monotonic() - started
        virtual_span = emu.clock.monotonic() - virtual_start
        # Every update has reached the dispatcher; once none is in flight, nothing more (a
        # duplicate, a stray reply) can still be sent.
        await settled(app.dispatcher, timeout=30)
    requests = sends(emu.requests[since:])
    refused = [r for r in requests if r.status == 429]
    print(
        f"\n{framework}: {CUSTOMERS} customers → {AGENTS} agents relayed in {relayed_in:.1f} s "
        f"({virtual_span:.1f} s on the clock), "
        f"{len(refused)} × 429, {len(requests)} send requests"
    )

    # Every message reached its own agent, exactly once.
    for i, person in enumerate(desk.customers):
        texts = relayed(requests, desk.agent_of[person.id])
        hits = [t for t in texts if marker(i) in t]
        assert len(hits) == 1, f"{marker(i)} reached its agent {len(hits)} times"
        assert "Cust" in hits[0] and "the lid still does not close" in hits[0]
    for agent in desk.agents:
        assert len(relayed(requests, agent)) == CUSTOMERS // AGENTS

    # Nobody else was written to: the bot did not answer the customers itself, and only the
    # answered customer got the agent's copy.
    agent_ids = {a.id for a in desk.agents}
    to_customers = [r for r in requests if r.ok and r.chat_id not in agent_ids]
    assert [(r.method, r.chat_id) for r in to_customers] == [("copyMessage", answered.id)]

    # The limits set the pace: 25 messages into one agent's chat at 1/s after a burst of 3
    # take at least 22 s, however fast the clock runs for the test.
    least = (CUSTOMERS // AGENTS - 3) / 1.0
    assert virtual_span >= least, f"{virtual_span:.1f} s < {least:.0f} s: limits not kept"

    # 429s are rare, and each was absorbed by a successful retry of the same message.
    assert len(refused) <= MAX_429, [(r.method, r.chat_id) for r in refused]
    assert unretried_429s(requests) == []
