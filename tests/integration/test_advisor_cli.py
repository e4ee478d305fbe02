"""``rapport customer advisor``: a dedicated advisor from the roster, kept in the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.core.models import Customer
from bot.core.roles import Role
from bot.core.services.staff import enroll
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
runner = CliRunner()


async def _seed(url: str) -> int:
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    factory = SqlUnitOfWorkFactory.from_engine(engine)
    async with factory() as work:
        customer = await work.customers.add(
            Customer(
                telegram_user_id=77,
                chat_id=77,
                display_name="Ann Lee",
                first_name="Ann",
                created_at=T0,
                updated_at=T0,
                customer_ref="C00077",
            )
        )
        await enroll(work, 9001, "Sam Lee", Role.AGENT, T0)
        await work.commit()
    await engine.dispose()
    assert customer.id is not None
    return customer.id


async def _advisor(url: str, customer_id: int) -> int | None:
    engine = make_engine(url)
    async with SqlUnitOfWorkFactory.from_engine(engine)() as work:
        found = await work.staff.advisor_of(customer_id)
    await engine.dispose()
    return found


def test_an_advisor_is_given_and_taken_away(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    url = database_url
    customer_id = asyncio.run(_seed(url))  # the command runs its own event loop
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)

    given = runner.invoke(app, ["customer", "advisor", "C00077", "9001"])
    assert given.exit_code == 0, given.output
    assert "customer C00077: dedicated advisor 9001 Sam Lee" in given.output
    assert asyncio.run(_advisor(url, customer_id)) == 9001

    stranger = runner.invoke(app, ["customer", "advisor", "C00077", "4444"])
    assert stranger.exit_code == 2 and "4444 is not on the staff roster" in stranger.output
    assert asyncio.run(_advisor(url, customer_id)) == 9001  # unchanged

    removed = runner.invoke(app, ["customer", "advisor", "C00077", "--remove"])
    assert removed.exit_code == 0 and "dedicated advisor removed" in removed.output
    assert asyncio.run(_advisor(url, customer_id)) is None
    again = runner.invoke(app, ["customer", "advisor", "C00077", "--remove"])
    assert again.exit_code == 0 and "had no dedicated advisor" in again.output

    unknown = runner.invoke(app, ["customer", "advisor", "C99999", "9001"])
    assert unknown.exit_code == 2 and "no customer with reference" in unknown.output
    neither = runner.invoke(app, ["customer", "advisor", "C00077"])
    assert neither.exit_code == 2 and "--remove" in neither.output
    both = runner.invoke(app, ["customer", "advisor", "C00077", "9001", "--remove"])
    assert both.exit_code == 2
