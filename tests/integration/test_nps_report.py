"""``rapport report nps --quarter 2026Q4 [--csv] [--json]`` (issue #10): NPS by tier with the
response rate, from the surveys sent in the quarter; a malformed quarter is a clear error."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.cli.common import load_settings
from bot.app.cli.records_common import database
from bot.app.cli.report import NPS_COLUMNS
from bot.core.messages import Sender
from bot.core.services.customers import upsert_customer
from bot.core.surveys import Survey

runner = CliRunner()
Q4 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    return tmp_path


ANSWERS = [  # (tier, score or None, days into the quarter; negative: the quarter before)
    ("high", 10, 1),
    ("high", 9, 5),
    ("high", 6, 9),
    ("high", None, 20),
    ("mid", 8, 2),
    ("mid", None, 3),
    ("base", 0, 4),
    ("high", 10, -1),  # Q3: not counted
    ("base", 10, 92),  # 2027Q1: not counted
]


async def _seed() -> None:
    async with database(load_settings()) as (_engine, factory), factory() as uow:
        for n, (tier, score, day) in enumerate(ANSWERS):
            customer = await upsert_customer(uow, Sender(id=100 + n, first_name="C"), 100 + n, Q4)
            assert customer.id is not None
            at = Q4 + timedelta(days=day)
            stored = await uow.surveys.add(Survey(customer.id, f"survey-{tier}", "p", tier, at))
            assert stored is not None and stored.id is not None
            if score is not None:
                await uow.surveys.answer(stored.id, score, at + timedelta(minutes=3))
        await uow.commit()


def test_nps_by_tier_adds_up(shop: Path) -> None:
    asyncio.run(_seed())
    result = runner.invoke(app, ["report", "nps", "--quarter", "2026Q4", "--json"])
    assert result.exit_code == 0, result.output
    tiers = {t["tier"]: t for t in json.loads(result.output)["tiers"]}
    assert list(tiers) == ["high", "mid", "base", "total"]
    assert tiers["high"] == {
        "tier": "high",
        "sent": 4,
        "responses": 3,
        "response_rate": 75.0,
        "promoters": 2,
        "passives": 0,
        "detractors": 1,
        "nps": 33.3,
    }
    assert (tiers["mid"]["nps"], tiers["base"]["nps"]) == (0.0, -100.0)
    total = tiers["total"]
    assert (total["sent"], total["responses"], total["promoters"], total["passives"]) == (
        7,
        5,
        2,
        1,
    )
    assert total["detractors"] == 2 and total["nps"] == 0.0
    assert total["sent"] == sum(tiers[t]["sent"] for t in ("high", "mid", "base"))

    as_csv = runner.invoke(app, ["report", "nps", "--quarter", "2026Q4", "--csv"]).output
    rows = list(csv.reader(io.StringIO(as_csv)))
    assert rows[0] == list(NPS_COLUMNS)
    assert rows[1] == ["high", "4", "3", "75.0", "2", "0", "1", "33.3"]
    table = runner.invoke(app, ["report", "nps", "--quarter", "2026Q4"]).output
    assert table.startswith("NPS 2026Q4") and "total" in table


@pytest.mark.parametrize("quarter", ["2026Q5", "2026-Q4", "Q4 2026", "2026"])
def test_a_malformed_quarter_is_a_clear_error(shop: Path, quarter: str) -> None:
    result = runner.invoke(app, ["report", "nps", "--quarter", quarter])
    assert result.exit_code != 0
    assert f"--quarter {quarter!r} is not a quarter like 2026Q4" in result.output
