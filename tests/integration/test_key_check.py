"""A wrong ``RAPPORT_ENCRYPTION_KEY`` is refused, and ``rapport customer rotate-key`` moves all
personal data to a new key (issue #14)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.app.bootstrap import build_services
from bot.app.cli import app
from bot.app.settings import LOCALES, Settings
from bot.core.importing import CUSTOMER_COLUMNS
from bot.core.records import PersonalDataError
from storage.crypto import PersonalDataCipher, new_key
from storage.customers_import import import_customers, read_rows
from storage.engine import make_engine
from storage.key_check import (
    MISMATCH,
    EncryptionKeyMismatch,
    KeyStatus,
    rotate_key,
    verify_key,
)
from storage.migrate import upgrade
from storage.tables import CustomerProfileRow, KeyCheckRow
from storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    url = database_url
    made = make_engine(url)
    await upgrade(url, engine=made)
    yield made
    await made.dispose()


async def add_customers(
    engine: AsyncEngine, cipher: PersonalDataCipher, folder: Path, count: int
) -> list[int]:
    """Customers C1…C<count>, phone +44770090000<n> and e-mail c<n>@example.com; their ids."""
    path = folder / "customers.csv"
    path.write_text(
        "customer_ref,name,phone,email\n"
        + "".join(f"C{n},Name {n},+44770090000{n},c{n}@example.com\n" for n in range(1, count + 1))
    )
    await import_customers(
        engine,
        read_rows(path, CUSTOMER_COLUMNS, ("customer_ref",)),
        cipher=cipher,
        locales=LOCALES,
        now=NOW,
        batch_size=10,
    )
    ids = []
    async with SqlUnitOfWorkFactory.from_engine(engine, cipher)() as uow:
        for n in range(1, count + 1):
            customer = await uow.records.get_by_ref(f"C{n}")
            assert customer is not None and customer.id is not None
            ids.append(customer.id)
    return ids


async def forget_fingerprint(engine: AsyncEngine) -> None:
    """As a database migrated from before the key check looks."""
    async with engine.begin() as conn:
        await conn.execute(delete(KeyCheckRow))


# --- storage ---------------------------------------------------------------------------------


async def test_a_new_database_records_the_key_and_refuses_another(engine: AsyncEngine) -> None:
    right, wrong = PersonalDataCipher(new_key()), PersonalDataCipher(new_key())
    assert await verify_key(engine, right, NOW) is KeyStatus.RECORDED
    assert await verify_key(engine, right, NOW) is KeyStatus.MATCHED
    with pytest.raises(EncryptionKeyMismatch, match="not the key"):
        await verify_key(engine, wrong, NOW)
    async with engine.connect() as conn:
        stored = await conn.scalar(select(KeyCheckRow.fingerprint))  # type: ignore[call-overload]
    assert stored == right.fingerprint() and len(stored) == 32
    assert right.fingerprint() != wrong.fingerprint()


async def test_two_first_uses_at_once_agree_on_one_key(engine: AsyncEngine) -> None:
    """Two processes starting on a new database with different keys: one key is recorded,
    the other process is refused (never two fingerprints, never both accepted)."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    first, second = PersonalDataCipher(new_key()), PersonalDataCipher(new_key())
    try:
        outcomes = await asyncio.gather(
            verify_key(engine, first, NOW), verify_key(other, second, NOW), return_exceptions=True
        )
    finally:
        await other.dispose()
    assert sorted(type(o).__name__ for o in outcomes) == ["EncryptionKeyMismatch", "KeyStatus"]
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(KeyCheckRow)) == 1


async def test_older_data_adopts_only_a_key_that_decrypts_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    right, wrong = PersonalDataCipher(new_key()), PersonalDataCipher(new_key())
    await add_customers(engine, right, tmp_path, 1)
    await forget_fingerprint(engine)
    with pytest.raises(EncryptionKeyMismatch):
        await verify_key(engine, wrong, NOW)
    async with engine.connect() as conn:  # the refused key was not recorded
        assert await conn.scalar(select(func.count()).select_from(KeyCheckRow)) == 0
    assert await verify_key(engine, right, NOW) is KeyStatus.ADOPTED
    assert await verify_key(engine, right, NOW) is KeyStatus.MATCHED
    with pytest.raises(EncryptionKeyMismatch):
        await verify_key(engine, wrong, NOW)


async def test_rotation_refuses_a_wrong_old_key_and_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    right, wrong = PersonalDataCipher(new_key()), PersonalDataCipher(new_key())
    await add_customers(engine, right, tmp_path, 1)
    await forget_fingerprint(engine)
    async with engine.connect() as conn:
        before = (await conn.execute(select(CustomerProfileRow.phone_enc))).all()  # type: ignore[call-overload]
    with pytest.raises(EncryptionKeyMismatch):
        await rotate_key(engine, wrong, PersonalDataCipher(new_key()), NOW)
    async with engine.connect() as conn:
        assert (await conn.execute(select(CustomerProfileRow.phone_enc))).all() == before  # type: ignore[call-overload]
        assert await conn.scalar(select(func.count()).select_from(KeyCheckRow)) == 0


async def test_a_rotation_that_cannot_read_a_value_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A database already mixed by a wrong key (before the check): the rotation stops at the
    value it cannot read and rolls everything back, fingerprint included."""
    old, stray = PersonalDataCipher(new_key()), PersonalDataCipher(new_key())
    ids = await add_customers(engine, old, tmp_path, 2)
    async with engine.begin() as conn:  # C2's phone as a wrong-key import once wrote it
        await conn.execute(
            update(CustomerProfileRow)
            .where(CustomerProfileRow.customer_id == ids[1])  # type: ignore[arg-type]
            .values(phone_enc=stray.encrypt("+447700900002", "phone"))
        )
    async with engine.connect() as conn:
        before = (await conn.execute(select(CustomerProfileRow))).all()
        fingerprint = await conn.scalar(select(KeyCheckRow.fingerprint))  # type: ignore[call-overload]
    with pytest.raises(PersonalDataError, match="cannot decrypt phone"):
        await rotate_key(engine, old, PersonalDataCipher(new_key()), NOW)
    async with engine.connect() as conn:
        assert (await conn.execute(select(CustomerProfileRow))).all() == before
        assert await conn.scalar(select(KeyCheckRow.fingerprint)) == fingerprint  # type: ignore[call-overload]


async def test_rotation_keeps_every_value_and_the_phone_lookup(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    old, new = PersonalDataCipher(new_key()), PersonalDataCipher(new_key())
    ids = await add_customers(engine, old, tmp_path, 3)
    done = await rotate_key(engine, old, new, NOW)
    assert (done.profiles, done.values) == (3, 6)
    factory = SqlUnitOfWorkFactory.from_engine(engine, new)
    async with factory() as uow:
        found = await uow.records.find_by_phone("+447700900002")
        profile = await uow.records.profile(ids[2])
    assert [c.id for c in found] == [ids[1]]
    assert profile is not None and profile.email == "c3@example.com"
    with pytest.raises(EncryptionKeyMismatch):
        await verify_key(engine, old, NOW)
    assert await verify_key(engine, new, NOW) is KeyStatus.MATCHED


# --- the bot ---------------------------------------------------------------------------------


async def test_build_services_refuses_a_wrong_key(database_url: str) -> None:
    url = database_url
    first = Settings(database_url=url, encryption_key=new_key())
    services = await build_services(first)
    await services.close()
    wrong = Settings(database_url=url, encryption_key=new_key())
    with pytest.raises(EncryptionKeyMismatch) as refused:
        await build_services(wrong)
    assert str(refused.value) == MISMATCH and "\n" not in MISMATCH
    services = await build_services(first)  # the right key still starts
    await services.close()


def test_rapport_run_with_a_wrong_key_says_one_line_and_exits_2(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    engine = make_engine(url)

    async def prepare() -> None:
        await upgrade(url, engine=engine)
        await verify_key(engine, PersonalDataCipher(new_key()), NOW)
        await engine.dispose()

    asyncio.run(prepare())
    key = new_key()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_ENCRYPTION_KEY": key,
        "TELEGRAM_BOT_TOKEN": "123456:not-a-real-token",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from bot.app.cli import app; app(prog_name='rapport')", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: {MISMATCH}"
    assert "Traceback" not in done.stderr and key not in done.stderr + done.stdout


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", new_key())
    monkeypatch.setenv("RAPPORT_BOT_USERNAME", "teashop_bot")
    (tmp_path / "first.csv").write_text(
        "customer_ref,name,phone,email\n"
        "C1,Ann,+44 7700 900001,ann@example.com\n"
        "C2,Bob,+44 7700 900002,bob@example.com\n"
    )
    (tmp_path / "more.csv").write_text(
        "customer_ref,name,phone,email\nC3,Cat,+44 7700 900003,cat@example.com\n"
    )
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_every_keyed_command_refuses_a_wrong_key_in_one_line(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("import", "customers", "first.csv", "--quiet")[0] == 0
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", new_key())
    for command in (
        ("import", "customers", "more.csv", "--quiet"),
        ("customer", "show", "C1"),
        ("customer", "export", "C1"),
        ("customer", "link-url", "C1"),
        ("customer", "rotate-key", "--new-key", new_key()),
    ):
        code, output = invoke(*command)
        assert (code, output) == (2, f"error: {MISMATCH}\n"), command
    monkeypatch.undo()  # nothing was written under the wrong key: C3 is not there
    code, output = invoke("customer", "show", "C3")
    assert code == 2 and "no customer with reference 'C3'" in output


def test_rotate_key_round_trip(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("import", "customers", "first.csv", "--quiet")[0] == 0
    code, before = invoke("customer", "export", "C1")
    assert code == 0 and json.loads(before)["profile"]["phone"] == "+447700900001"
    old = os.environ["RAPPORT_ENCRYPTION_KEY"]
    new = new_key()
    monkeypatch.setenv("RAPPORT_NEW_ENCRYPTION_KEY", new)
    code, said = invoke("customer", "rotate-key")
    assert code == 0 and "re-encrypted 4 values of 2 customers" in said, said
    assert new not in said and old not in said
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", new)
    assert invoke("customer", "export", "C1") == (0, before)
    assert invoke("import", "customers", "more.csv", "--quiet")[0] == 0
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", old)
    assert invoke("customer", "export", "C1") == (2, f"error: {MISMATCH}\n")

    async def lookup() -> list[str]:
        engine = make_engine(os.environ["RAPPORT_DATABASE_URL"])
        try:
            factory = SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(new))
            async with factory() as uow:
                return [
                    c.customer_ref or "" for c in await uow.records.find_by_phone("+447700900002")
                ]
        finally:
            await engine.dispose()

    assert asyncio.run(lookup()) == ["C2"]


def test_rotate_key_refuses_a_bad_or_same_key(shop: Path) -> None:
    assert invoke("import", "customers", "first.csv", "--quiet")[0] == 0
    code, output = invoke("customer", "rotate-key", "--new-key", "too-short")
    assert code == 2 and output.startswith("error: --new-key:") and "too-short" not in output
    code, output = invoke(
        "customer", "rotate-key", "--new-key", os.environ["RAPPORT_ENCRYPTION_KEY"]
    )
    assert code == 2 and "already in use" in output and output.count("\n") == 1
