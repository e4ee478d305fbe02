"""``rapport playbook simulate`` on the example shop (issue #10): the files in ``examples/``
imported as the README does, then the playbook run over a simulated year.

Imported customers have no Telegram chat and have not consented, so on the raw import every
rule skips everyone as ``not_linked``. Once each customer has linked their chat and opted in
(as customers do through the shop's deep link and the consent button), every default rule
fires at least once over 2025 (the mid tier's news once marketing has written news items) and
no customer gets more than 2 marketing messages in any 7 days. Nothing is written.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text, update
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.settings import LOCALES
from bot.core.engagement.news import NewsItem
from bot.core.records import CustomerProfile
from storage.crypto import PersonalDataCipher, new_key
from storage.engine import make_engine
from storage.tables.support import CustomerRow
from storage.uow import SqlUnitOfWorkFactory

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONSENTED = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The example shop imported with ``rapport import`` into a fresh database."""
    url = database_url
    key = new_key()
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", key)
    monkeypatch.delenv("RAPPORT_PLAYBOOK_FILE", raising=False)
    for kind in ("customers", "orders"):
        result = runner.invoke(app, ["import", kind, str(EXAMPLES / f"{kind}.csv")])
        assert "committed" in result.output, result.output
    return url, key


async def link_and_opt_in_everyone(url: str, key: str) -> None:
    """Every customer linked to a Telegram chat and consenting to marketing."""
    engine = make_engine(url)
    try:
        uow = SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(key))
        async with uow() as work:
            ids = [row[0] for row in (await work.session.execute(text("SELECT id FROM customer")))]
            for customer_id in ids:
                await work.session.execute(
                    update(CustomerRow)
                    .where(CustomerRow.id == customer_id)
                    .values(telegram_user_id=900_000 + customer_id, chat_id=900_000 + customer_id)
                )
                profile = await work.records.profile(customer_id) or CustomerProfile(customer_id)
                await work.records.save_profile(
                    replace(profile, marketing_consent=True, marketing_consent_at=CONSENTED)
                )
            await work.commit()
    finally:
        await engine.dispose()


async def write_news_every_month(url: str) -> None:
    """A news item in each language on the first of every month of 2025."""
    engine = make_engine(url)
    try:
        uow = SqlUnitOfWorkFactory.from_engine(engine)
        async with uow() as work:
            for month in range(1, 13):
                for locale in LOCALES:
                    at = datetime(2025, month, 1, 8, tzinfo=UTC)
                    await work.news.add(NewsItem(0, locale, f"News {month}", "Tea.", at))
            await work.commit()
    finally:
        await engine.dispose()


async def fingerprint(url: str) -> list[tuple[str, int]]:
    """Rows per table: what the simulation must leave as it found it."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = sorted(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
            return [
                (name, (await conn.execute(text(f'SELECT count(*) FROM "{name}"'))).scalar_one())
                for name in names
            ]
    finally:
        await engine.dispose()


def simulate(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["playbook", "simulate", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def test_on_the_raw_import_nobody_can_be_reached(shop: tuple[str, str]) -> None:
    report = simulate("--from", "2025-06-01", "--to", "2025-06-30")
    assert report["days"] == 30 and report["customers"] > 0
    for rule, tally in report["rules"].items():
        assert tally["sent"] == 0, rule
        assert set(tally["skipped"]) <= {"not_linked"}, rule
    assert report["max_marketing_in_7_days"] == 0


def test_over_a_year_every_default_rule_fires_and_the_cap_holds(shop: tuple[str, str]) -> None:
    url, key = shop
    asyncio.run(link_and_opt_in_everyone(url, key))
    quiet = simulate("--from", "2025-01-01", "--to", "2025-03-31")["rules"]["mid-news"]
    assert quiet["sent"] == 0 and quiet["skipped"]["nothing_new"] > 0  # no news yet
    asyncio.run(write_news_every_month(url))
    before = asyncio.run(fingerprint(url))
    report = simulate("--from", "2025-01-01", "--to", "2025-12-31")
    assert asyncio.run(fingerprint(url)) == before, "the simulation writes nothing"
    rules = report["rules"]
    assert report["days"] == 365
    silent = sorted(rule for rule, tally in rules.items() if tally["sent"] == 0)
    assert silent == [], rules
    assert not any(t["skipped"].get("unrendered") for t in rules.values()), rules
    # one item a month, news every two weeks: every other period has nothing new to say
    assert rules["mid-news"]["skipped"]["nothing_new"] > 0
    assert 1 <= report["max_marketing_in_7_days"] <= 2
    # the check-in is an advisor's task: every card sent is a task opened
    assert rules["high-checkin"]["tasks"] == rules["high-checkin"]["sent"] > 0
    assert any(t["skipped"].get("cap") for t in rules.values()), "the cap had work to do"


def test_a_span_that_ends_before_it_starts_is_refused(shop: tuple[str, str]) -> None:
    result = runner.invoke(
        app, ["playbook", "simulate", "--from", "2025-02-01", "--to", "2025-01-01"]
    )
    assert result.exit_code == 2 and "before --from" in result.output
    result = runner.invoke(app, ["playbook", "simulate", "--from", "2025-13-01", "--to", "x"])
    assert result.exit_code == 2 and "--from '2025-13-01' is not a date" in result.output
