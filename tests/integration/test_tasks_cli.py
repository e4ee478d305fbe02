"""``rapport tasks list [--open] [--json]`` (issue #10): an operator sees the staff tasks, newest
first, with what became of each — and customers by id only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.cli.common import load_settings
from bot.app.cli.records_common import database
from bot.core.messages import Sender
from bot.core.services.customers import upsert_customer
from bot.core.staff_tasks import StaffTask, TaskChoice, TaskKind, TaskState

runner = CliRunner()
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    return tmp_path


async def _seed() -> int:
    async with database(load_settings()) as (_engine, factory), factory() as uow:
        customer = await upsert_customer(uow, Sender(id=42, first_name="Ada"), 42, T0)
        assert customer.id is not None
        for n, kind in enumerate((TaskKind.ADVISOR_CHECKIN, TaskKind.CALLBACK)):
            task = StaffTask(
                kind=kind,
                customer_id=customer.id,
                period="2026-12",
                chat_id=7001 if n == 0 else -100500,
                opened_at=T0 + timedelta(minutes=n),
                reason=f"reason {n}",
                assignee=7001 if n == 0 else None,
                rule_id="high-checkin" if n == 0 else "win-back",
            )
            assert await uow.tasks.add(task) is not None
        again = StaffTask(TaskKind.CALLBACK, customer.id, "2026-12", -100500, T0)
        assert await uow.tasks.add(again) is None  # (kind, customer, period) is unique
        [_callback, checkin] = await uow.tasks.listing()
        assert checkin.id is not None
        later = T0 + timedelta(hours=1)
        assert await uow.tasks.decide(
            checkin.id, TaskState.DONE, TaskChoice.CONTACTED, 7001, later
        )
        assert not await uow.tasks.decide(checkin.id, TaskState.SKIPPED, TaskChoice.SKIP, 9, later)
        await uow.commit()
        return customer.id


def test_tasks_are_listed_newest_first_and_open_ones_alone(shop: Path) -> None:
    customer_id = asyncio.run(_seed())
    result = runner.invoke(app, ["tasks", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [(t["kind"], t["state"], t["choice"], t["acted_by"]) for t in listed] == [
        ("callback", "open", None, None),
        ("advisor_checkin", "done", "contacted", 7001),
    ]
    assert listed[1]["customer_id"] == customer_id and "Ada" not in result.output
    opened = json.loads(runner.invoke(app, ["tasks", "list", "--open", "--json"]).output)
    assert [t["kind"] for t in opened] == ["callback"]
    text = runner.invoke(app, ["tasks", "list"]).output
    assert "advisor_checkin" in text and "done: contacted by 7001" in text
    assert "-> chat -100500 [open]" in text
