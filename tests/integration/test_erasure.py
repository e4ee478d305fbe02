"""Erase means erased (SPEC §12): after `forget`, none of a customer's words or identifiers is
left in any table, nor anywhere in the raw bytes of the SQLite database and its write-ahead log.

The customer here has data in every table that can hold it: a profile with contact data, the
messages they sent and the bot's messages about them (relays to an agent, cards quoting them),
a support request, a ticket with an order number, staff notes and a resolution note, a rating
comment with a phone number, a dialogue in progress, a take-over and a dedicated advisor.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, make_url, text
from typer.testing import CliRunner

from bot.app.cli import app
from bot.core.desk import Takeover
from bot.core.messages import Outgoing
from bot.core.models import (
    Conversation,
    Customer,
    Direction,
    LoggedMessage,
    RequestReason,
    SupportRequest,
)
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.ratings import Rating
from bot.core.records import CustomerProfile
from bot.core.roles import Role, StaffMember
from bot.core.surveys import Survey
from bot.core.tickets import (
    EventKind,
    Level,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketState,
)
from bot.core.triage import Priority, Severity
from storage.crypto import PersonalDataCipher, new_key
from storage.engine import is_sqlite, make_engine, scrub
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHAT = 7_123_456_789
SECRETS = (
    "Annabel Quist",  # display name
    "annabelq",  # username
    "SHOP-REF-4471",  # the shop's reference
    "annabel.quist@example.org",  # her e-mail, in the profile and in her complaint
    "+85261234567",  # her phone, in the profile and in her rating comment
    "kettle lid shattered on Tuesday",  # her complaint
    "ORDER-99817",  # the order number
    "spoke to Annabel, refund approved",  # a staff note quoting her
    "call me on +85261234567 please",  # the rating comment
    "half-written complaint about the lid",  # a dialogue in progress
    "where is my parcel, Annabel asks",  # a support request
    "Annabel's survey: the lid again!",  # her survey comment
)


async def a_customer_in_every_table(factory: SqlUnitOfWorkFactory) -> int:
    async with factory() as uow:
        customer = await uow.customers.add(
            Customer(
                telegram_user_id=CHAT,
                chat_id=CHAT,
                display_name="Annabel Quist",
                first_name="Annabel",
                created_at=T0,
                updated_at=T0,
                username="annabelq",
                customer_ref="SHOP-REF-4471",
            )
        )
        assert customer.id is not None
        cid = customer.id
        await uow.records.save_profile(
            CustomerProfile(cid, phone="+85261234567", email="annabel.quist@example.org")
        )
        await uow.messages.add(
            LoggedMessage(
                Direction.IN,
                CHAT,
                T0,
                "kettle lid shattered on Tuesday, write to annabel.quist@example.org",
                update_id=1,
                customer_id=cid,
            )
        )
        await uow.messages.add(  # the card to the staff group, quoting her (tagged with her id)
            LoggedMessage(
                Direction.OUT,
                -100500,
                T0,
                "Annabel Quist: kettle lid shattered on Tuesday (ORDER-99817)",
                customer_id=cid,
                template_key="staff.ticket_card",
            )
        )
        await uow.requests.add(
            SupportRequest(
                cid,
                CHAT,
                "where is my parcel, Annabel asks",
                RequestReason.FAQ_MISS,
                T0,
                T0 + timedelta(hours=2),
            )
        )
        ticket = await uow.tickets.add(
            Ticket(
                customer_id=cid,
                chat_id=CHAT,
                kind=TicketKind.COMPLAINT,
                severity=Severity.QUALITY,
                priority=Priority.NORMAL,
                state=TicketState.RESOLVED,
                level=Level.AGENT,
                text="kettle lid shattered on Tuesday, annabel.quist@example.org",
                created_at=T0,
                updated_at=T0,
                first_response_due_at=T0 + timedelta(hours=2),
                resolution_due_at=T0 + timedelta(hours=24),
                summary="kettle lid shattered on Tuesday",
                order_ref="ORDER-99817",
                attachments=["photo-file-id-annabelq"],
                signals=["shattered"],
            )
        )
        assert ticket.id is not None
        for note in ("spoke to Annabel, refund approved", "resolved: new kettle for annabelq"):
            await uow.tickets.add_event(
                TicketEvent(ticket.id, T0, "staff:9001", EventKind.NOTE, note=note)
            )
        await uow.ratings.add(Rating(ticket.id, cid, 2, T0, "call me on +85261234567 please"))
        await uow.conversations.save(
            Conversation(CHAT, "complaint", "describe", T0, {"text": SECRETS[9]})
        )
        survey = await uow.surveys.add(Survey(cid, "survey-high", "2026Q4", "high", T0))
        assert survey is not None and survey.id is not None
        await uow.surveys.answer(survey.id, 3, T0)
        await uow.surveys.set_comment(survey.id, "Annabel's survey: the lid again!")
        await uow.staff.save(StaffMember(9001, "Sam Lee", Role.AGENT, T0))
        await uow.staff.set_advisor(cid, 9001)
        await uow.desk.start(Takeover(CHAT, cid, ticket.id, 9001, T0))
        await uow.outbox.enqueue(  # a revisit not sent yet, greeting her by name
            OutboxMessage(
                key=f"revisit:{ticket.id}",
                lane=Lane.PROACTIVE,
                message=Outgoing(
                    CHAT, "Annabel Quist, how is the new kettle?", about_customer_id=cid
                ),
                created_at=T0,
                not_before=T0,
            )
        )
        await uow.commit()
    return cid


async def test_forget_leaves_nothing_in_any_table_or_byte_of_the_database(
    database_url: str,
) -> None:
    """On both databases no table keeps a trace; on SQLite not even the file's bytes (on
    PostgreSQL dead rows stay in the data files until vacuumed: see the README)."""
    url = database_url
    await upgrade(url)
    engine = make_engine(url)
    factory = SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(new_key()))
    bot = make_engine(url)  # a running bot keeps its connection open: the WAL is not folded
    held = await bot.connect()  # back into the file on close, so erasure must do it itself
    try:
        cid = await a_customer_in_every_table(factory)
        async with factory() as uow:
            before = await uow.records.export(cid)
        assert before.tickets and before.ticket_events and before.ratings  # export holds all
        assert before.ratings[0]["comment"] == "call me on +85261234567 please"

        async with factory() as uow:
            await uow.records.forget(cid)
            await uow.commit()
        await scrub(engine)

        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "ticket_rating" in tables and "outbox" in tables
            for table in tables:
                rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
                dumped = repr(rows)
                for secret in SECRETS:
                    assert secret not in dumped, f"{secret!r} survives in table {table}"
            counts = {
                t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                for t in ("ticket", "ticket_event", "ticket_rating", "customer")
            }
        assert counts == {"ticket": 1, "ticket_event": 2, "ticket_rating": 1, "customer": 1}
        async with engine.connect() as conn:
            states = (await conn.execute(text("SELECT state FROM outbox"))).scalars().all()
        assert states == ["skipped"]  # never sent after the erasure
        async with factory() as uow:
            after = await uow.records.export(cid)
        assert after.tickets[0]["text"] == "" and after.ratings[0]["comment"] is None
        assert asdict(after)["profile"] is None

        if not is_sqlite(url):
            return
        path = Path(make_url(url).database or "")
        raw = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        raw += wal.read_bytes() if wal.exists() else b""
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} survives in the database file"
    finally:
        await held.close()
        await bot.dispose()
        await engine.dispose()


async def test_the_export_command_holds_tickets_their_events_and_ratings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC §12: ``rapport customer export`` gives the customer everything held about them."""
    key = new_key()
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        await a_customer_in_every_table(
            SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(key))
        )
    finally:
        await engine.dispose()
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", key)
    # the command runs its own event loop: give it a thread of its own
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["customer", "export", "SHOP-REF-4471"]
    )
    assert result.exit_code == 0, result.output
    held = json.loads(result.output)
    assert held["tickets"] and held["ticket_events"] and held["ratings"]
    assert held["ratings"][0]["comment"] == "call me on +85261234567 please"
    assert held["surveys"][0]["comment"] == "Annabel's survey: the lid again!"
    assert held["profile"]["email"] == "annabel.quist@example.org"
