"""The consent log on SQLite (migration 0015): a change creates a bare profile for a customer
the shop never imported, the log keeps every change in order, ``customer export`` shows it,
``customer forget`` deletes it, and linking a Telegram customer to an imported record keeps
the newer of the two decisions."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.app.cli import app
from bot.core.consent import ConsentChange, ConsentSource, ConsentState
from bot.core.models import Customer
from bot.core.records import CustomerProfile
from storage.crypto import PersonalDataCipher, new_key
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import MarketingConsentLogRow
from storage.uow import SqlUnitOfWorkFactory

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
runner = CliRunner()


def _customer(n: int, ref: str | None = None, telegram: bool = True) -> Customer:
    return Customer(
        telegram_user_id=1000 + n if telegram else None,
        chat_id=1000 + n if telegram else None,
        display_name=f"C{n}",
        first_name=f"C{n}",
        customer_ref=ref,
        created_at=T0,
        updated_at=T0,
    )


async def _factory(url: str, key: str) -> tuple[SqlUnitOfWorkFactory, object]:
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    return SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(key)), engine


async def test_the_log_and_the_profile(database_url: str) -> None:
    uow, engine = await _factory(database_url, new_key())
    try:
        async with uow() as work:
            customer = await work.customers.add(_customer(1))
            assert customer.id is not None
            cid = customer.id
            assert await work.records.consent(cid) == ConsentState()
            assert await work.records.profile(cid) is None
            await work.records.record_consent(ConsentChange(cid, False, ConsentSource.STOP, T0))
            later = T0 + timedelta(hours=1)
            await work.records.record_consent(ConsentChange(cid, True, ConsentSource.START, later))
            await work.commit()
        async with uow() as work:
            assert await work.records.consent(cid) == ConsentState(True, later)
            profile = await work.records.profile(cid)
            assert profile == CustomerProfile(
                cid, marketing_consent=True, marketing_consent_at=later
            )
            log = await work.records.consent_log(cid)
            held = await work.records.export(cid)
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    assert [(c.consent, c.source, c.at) for c in log] == [
        (False, ConsentSource.STOP, T0),
        (True, ConsentSource.START, later),
    ]
    assert held.consent_log == [
        {"consent": False, "source": "stop", "at": T0.isoformat()},
        {"consent": True, "source": "start", "at": later.isoformat()},
    ]


@pytest.mark.parametrize(("chat_later", "expected"), [(True, False), (False, True)])
async def test_linking_keeps_the_newer_decision(
    database_url: str, chat_later: bool, expected: bool
) -> None:
    """The shop's record said yes at one moment, the customer said no in the chat at another:
    after linking, the later of the two stands, and both log entries are the customer's."""
    uow, engine = await _factory(database_url, new_key())
    chat_at, shop_at = (T0 + timedelta(days=1), T0) if chat_later else (T0, T0 + timedelta(1))
    try:
        async with uow() as work:
            imported = await work.customers.add(_customer(1, ref="SHOP-1", telegram=False))
            telegram = await work.customers.add(_customer(2))
            assert imported.id is not None and telegram.id is not None
            await work.records.record_consent(
                ConsentChange(imported.id, True, ConsentSource.IMPORT, shop_at)
            )
            await work.records.record_consent(
                ConsentChange(telegram.id, False, ConsentSource.STOP, chat_at)
            )
            await work.records.absorb(imported.id, telegram.id)
            await work.commit()
        async with uow() as work:
            state = await work.records.consent(telegram.id)
            log = await work.records.consent_log(telegram.id)
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    assert state.consent is expected
    assert sorted(c.source for c in log) == [ConsentSource.IMPORT, ConsentSource.STOP]


def test_export_and_forget_on_the_command_line(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = database_url
    key = new_key()
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", key)

    async def seed() -> None:
        uow, engine = await _factory(url, key)
        try:
            async with uow() as work:
                customer = await work.customers.add(_customer(1, ref="C1"))
                assert customer.id is not None
                await work.records.record_consent(
                    ConsentChange(customer.id, False, ConsentSource.BUTTON, T0)
                )
                await work.commit()
        finally:
            await engine.dispose()  # type: ignore[attr-defined]

    async def entries() -> int:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(select(func.count()).select_from(MarketingConsentLogRow))
                return int(found or 0)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    result = runner.invoke(app, ["customer", "export", "C1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["consent_log"] == [
        {"consent": False, "source": "button", "at": T0.isoformat()}
    ]
    assert asyncio.run(entries()) == 1
    result = runner.invoke(app, ["customer", "forget", "C1", "--yes"])
    assert result.exit_code == 0, result.output
    assert asyncio.run(entries()) == 0


def test_the_customer_file_gives_and_withdraws_but_never_undoes_a_chat_opt_out(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``marketing_consent`` in ``rapport import customers``: recorded with source ``import``
    when it changes something; a "yes" never overrides the customer's own "no" from the chat."""
    monkeypatch.chdir(tmp_path)
    url = database_url
    key = new_key()
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", key)
    file = tmp_path / "customers.csv"

    def imported(rows: str) -> str:
        result = runner.invoke(app, ["import", "customers", str(_write(file, rows)), "--quiet"])
        assert result.exit_code == 0, result.output
        return result.output

    async def after_stop_from_c1() -> None:
        uow, engine = await _factory(url, key)
        try:
            async with uow() as work:
                c1 = await work.records.get_by_ref("C1")
                assert c1 is not None and c1.id is not None
                await work.records.record_consent(
                    ConsentChange(c1.id, False, ConsentSource.STOP, datetime.now(UTC))
                )
                await work.commit()
        finally:
            await engine.dispose()  # type: ignore[attr-defined]

    async def logs() -> dict[str, list[tuple[bool, str]]]:
        uow, engine = await _factory(url, key)
        out: dict[str, list[tuple[bool, str]]] = {}
        try:
            async with uow() as work:
                for ref in ("C1", "C2", "C3"):
                    customer = await work.records.get_by_ref(ref)
                    assert customer is not None and customer.id is not None
                    log = await work.records.consent_log(customer.id)
                    out[ref] = [(c.consent, c.source.value) for c in log]
        finally:
            await engine.dispose()  # type: ignore[attr-defined]
        return out

    out = imported("C1,Ann,yes\nC2,Bob,no\nC3,Cy,\n")
    assert "marketing consent: 1 given, 1 withdrawn" in out
    assert "marketing consent" not in imported("C1,Ann,yes\nC2,Bob,no\nC3,Cy,\n")  # no news
    asyncio.run(after_stop_from_c1())
    out = imported("C1,Ann,TRUE\nC2,Bob,1\nC3,Cy,\n")
    assert "1 given, 0 withdrawn, 1 opt-out(s) kept" in out
    assert asyncio.run(logs()) == {
        "C1": [(True, "import"), (False, "stop")],
        "C2": [(False, "import"), (True, "import")],
        "C3": [],
    }
    bad = runner.invoke(app, ["import", "customers", str(_write(file, "C4,Di,maybe\n"))])
    assert bad.exit_code == 1 and "marketing_consent 'maybe' is not yes or no" in bad.output


def _write(file: Path, rows: str) -> Path:
    file.write_text("customer_ref,name,marketing_consent\n" + rows, encoding="utf-8")
    return file
