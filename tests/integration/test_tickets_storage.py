"""Tickets in the real database: round trip, history, SLA marks claimed once, the report CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.core.models import Customer
from bot.core.tickets import EventKind, Level, Ticket, TicketEvent, TicketKind, TicketState
from bot.core.triage import Priority, Severity
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    url = database_url
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    yield SqlUnitOfWorkFactory.from_engine(engine)
    await engine.dispose()


async def a_customer(uow: SqlUnitOfWorkFactory) -> int:
    async with uow() as work:
        customer = await work.customers.add(
            Customer(
                telegram_user_id=77,
                chat_id=77,
                display_name="Ann Lee",
                first_name="Ann",
                created_at=T0,
                updated_at=T0,
            )
        )
        await work.commit()
    assert customer.id is not None
    return customer.id


def a_ticket(customer_id: int, severity: Severity = Severity.QUALITY) -> Ticket:
    return Ticket(
        customer_id=customer_id,
        chat_id=77,
        kind=TicketKind.COMPLAINT,
        severity=severity,
        priority=Priority.NORMAL,
        state=TicketState.ACKNOWLEDGED,
        level=Level.AGENT,
        text="kettle broken 水壺壞了",
        created_at=T0,
        updated_at=T0,
        first_response_due_at=T0 + timedelta(hours=2),
        resolution_due_at=T0 + timedelta(hours=24),
        category="damaged",
        signals=["broken"],
        attachments=["PHOTO-1"],
        order_ref="10234",
    )


async def test_a_ticket_and_its_history_round_trip(uow: SqlUnitOfWorkFactory) -> None:
    customer_id = await a_customer(uow)
    async with uow() as work:
        ticket = await work.tickets.add(a_ticket(customer_id))
        assert ticket.id is not None and ticket.number == f"T-{ticket.id:06d}"
        for to in (TicketState.INVESTIGATING, TicketState.RESOLVED):
            await work.tickets.add_event(
                TicketEvent(ticket.id, T0, "staff:1", EventKind.TRANSITION, None, to, "note")
            )
        ticket.state = TicketState.RESOLVED
        ticket.resolved_at = T0 + timedelta(hours=3)
        await work.tickets.update(ticket)
        await work.commit()
    async with uow() as work:
        stored = await work.tickets.get_by_number(ticket.number.lower())
        history = await work.tickets.events(ticket.id)
        still_open = await work.tickets.open_for_customer(customer_id)
    assert stored is not None and stored.resolved_at == T0 + timedelta(hours=3)
    assert stored.attachments == ["PHOTO-1"] and stored.text == "kettle broken 水壺壞了"
    assert [e.to_state for e in history] == [TicketState.INVESTIGATING, TicketState.RESOLVED]
    assert still_open == []


async def test_two_sweepers_racing_claim_a_breach_once(uow: SqlUnitOfWorkFactory) -> None:
    customer_id = await a_customer(uow)
    async with uow() as work:
        ticket = await work.tickets.add(a_ticket(customer_id))
        await work.commit()
    assert ticket.id is not None

    async def claim() -> bool:
        async with uow() as work:
            won = await work.tickets.mark_once(ticket.id or 0, "first_response_breached_at", T0)
            await work.commit()
            return won

    results = await asyncio.gather(*(claim() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    with pytest.raises(ValueError, match="not an SLA mark"):
        async with uow() as work:
            await work.tickets.mark_once(ticket.id, "state", T0)


def test_the_monthly_report_from_the_command_line(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_url

    async def seed() -> None:
        engine = make_engine(url)
        await upgrade(url, engine=engine)
        factory = SqlUnitOfWorkFactory.from_engine(engine)
        customer_id = await a_customer(factory)
        async with factory() as work:
            answered = a_ticket(customer_id)
            answered.first_response_at = T0 + timedelta(minutes=30)
            await work.tickets.add(answered)
            await work.tickets.add(a_ticket(customer_id, Severity.MAJOR))
            await work.commit()
        await engine.dispose()

    asyncio.run(seed())  # the command runs its own event loop, so this test has none
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["report", "complaints", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    assert "complaints" in result.output and "severity: major" in result.output
    csv = CliRunner().invoke(app, ["report", "complaints", "--month", "2026-11", "--csv"])
    assert csv.output.splitlines()[0] == "measure,value"
    assert "complaints,2" in csv.output
    assert "repeat complainers (2+ complaints),1" in csv.output
    # the major one was never answered and its deadline is long past: a miss
    assert "first response within target,50% (1/2)" in csv.output
    bad = CliRunner().invoke(app, ["report", "complaints", "--month", "11/2026"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
