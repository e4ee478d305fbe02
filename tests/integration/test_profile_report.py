"""``rapport report profile [--json] [--csv]`` (issue #10, SPEC §2): the completeness of the
active customers — lifecycle new or active, as the tiers were last computed — against the
95 % target: the share with each field, the share complete, the gap; overall and by tier."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.cli.common import load_settings
from bot.app.cli.records_common import database
from bot.core.models import Customer
from storage.tables import CustomerTierRow

runner = CliRunner()
T0 = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    return tmp_path


CUSTOMERS = [  # tier, lifecycle, language, timezone, shop reference, on Telegram
    ("high", "active", "en", "Asia/Taipei", "C1", True),  # complete
    ("high", "new", None, "Asia/Taipei", "C2", True),  # no language
    ("mid", "active", "zh-Hans", "Asia/Shanghai", "C3", True),  # complete
    ("mid", "active", "zh-Hant", None, None, True),  # no zone, not linked
    ("base", "active", "en", "UTC", "C5", False),  # imported, nobody linked it
    ("mid", "dormant", None, None, None, True),  # not active: not counted
    ("prospect", "prospect", None, None, None, True),  # not active: not counted
]


async def _seed() -> None:
    async with database(load_settings()) as (_engine, factory), factory() as uow:
        for n, (tier, stage, language, zone, ref, telegram) in enumerate(CUSTOMERS):
            user = 500 + n if telegram else None
            customer = await uow.customers.add(
                Customer(user, user, f"C{n}", "C", T0, T0, language=language, timezone=zone)
            )
            customer.customer_ref = ref
            await uow.customers.update(customer)
            assert customer.id is not None
            uow.session.add(
                CustomerTierRow(
                    customer_id=customer.id,
                    as_of=date(2026, 11, 1),
                    tier=tier,
                    lifecycle=stage,
                    frequency=1,
                    monetary_cents=100,
                )
            )
        await uow.commit()


def test_completeness_overall_and_by_tier(shop: Path) -> None:
    asyncio.run(_seed())
    result = runner.invoke(app, ["report", "profile", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["target_percent"] == 95.0 and report["active"] == ["new", "active"]
    assert report["all"] == {
        "customers": 5,
        "present": {"language": 4, "timezone": 4, "link": 3},
        "present_percent": {"language": 80.0, "timezone": 80.0, "link": 60.0},
        "complete": 2,
        "complete_percent": 40.0,
        "gap_to_target": 55.0,
        "target_met": False,
    }
    assert list(report["tiers"]) == ["high", "mid", "base"]
    high, mid, base = (report["tiers"][t] for t in ("high", "mid", "base"))
    assert (high["customers"], high["complete_percent"], high["gap_to_target"]) == (2, 50.0, 45.0)
    assert mid["present"] == {"language": 2, "timezone": 1, "link": 1}
    assert (base["complete"], base["present"]["link"]) == (0, 0)

    table = runner.invoke(app, ["report", "profile"])
    assert table.exit_code == 0, table.output
    assert "Profile completeness of 5 active customers (target 95.0 % complete)" in table.output
    as_csv = runner.invoke(app, ["report", "profile", "--csv"])
    rows = list(csv.reader(io.StringIO(as_csv.output)))
    assert rows[0] == [
        "group",
        "customers",
        "language_percent",
        "timezone_percent",
        "link_percent",
        "complete_percent",
        "gap_to_target",
    ]
    assert rows[1] == ["all", "5", "80.0", "80.0", "60.0", "40.0", "55.0"]
    assert [r[0] for r in rows[1:]] == ["all", "high", "mid", "base"]


def test_what_counts_is_a_setting_and_an_empty_shop_reports_nothing(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = json.loads(runner.invoke(app, ["report", "profile", "--json"]).output)
    assert empty["all"]["customers"] == 0 and empty["all"]["complete_percent"] is None
    asyncio.run(_seed())
    monkeypatch.setenv("RAPPORT_PROFILE_FIELDS", "language")
    monkeypatch.setenv("RAPPORT_PROFILE_LANGUAGE_FROM_TELEGRAM", "true")
    monkeypatch.setenv("RAPPORT_PROFILE_TARGET_PERCENT", "80")
    report = json.loads(runner.invoke(app, ["report", "profile", "--json"]).output)
    assert report["fields"] == ["language"]
    assert report["all"]["complete_percent"] == 80.0 and report["all"]["target_met"]
