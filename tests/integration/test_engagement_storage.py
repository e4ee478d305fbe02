"""The engagement read model over SQLite, and ``rapport playbook preview`` on a real database:
who would receive what, who is skipped and why — and nothing is written."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.deps import Deps
from bot.core.engagement.facts import OrderFact
from bot.core.models import Customer, Reachability
from bot.core.records import CustomerProfile, OrderStatus
from bot.core.services.engagement import run_playbook
from storage.crypto import PersonalDataCipher, new_key
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import CustomerOrderRow, CustomerTierRow
from storage.tables.outbox import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FixedFaq, FrozenClock, RecordingMessenger
from tests.unit.conftest import language, triage

runner = CliRunner()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def seed(url: str, key: str) -> dict[str, int]:
    """Ann: high tier, consenting, in Shanghai (20:00 local: not quiet), born on 1 December.
    Bob: base tier, no consent, an unpaid order 2 h old. Cy: mid tier, blocked the bot."""
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    uow = SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(key))
    ids: dict[str, int] = {}
    async with uow() as work:
        for n, (name, zone) in enumerate(
            (("Ann", "Asia/Shanghai"), ("Bob", None), ("Cy", None)), start=1
        ):
            customer = await work.customers.add(
                Customer(
                    telegram_user_id=100 + n,
                    chat_id=100 + n,
                    display_name=name,
                    first_name=name,
                    created_at=NOW - timedelta(days=400),
                    updated_at=NOW - timedelta(days=400),
                    timezone=zone,
                    reachability=Reachability.BLOCKED if name == "Cy" else Reachability.REACHABLE,
                )
            )
            assert customer.id is not None
            ids[name] = customer.id
        await work.records.save_profile(
            CustomerProfile(ids["Ann"], birthday=date(1991, 12, 1), marketing_consent=True)
        )
        for name, tier in (("Ann", "high"), ("Bob", "base"), ("Cy", "mid")):
            work.session.add(
                CustomerTierRow(
                    customer_id=ids[name],
                    as_of=NOW.date(),
                    tier=tier,
                    segment="loyal",
                    lifecycle="active",
                    recency_days=10,
                    frequency=3,
                    monetary_cents=9000,
                )
            )
        work.session.add(
            CustomerOrderRow(
                order_id="B-1",
                customer_id=ids["Bob"],
                amount_cents=1999,
                currency="EUR",
                status="pending",
                created_at=NOW - timedelta(hours=2),
                coupon_code="SAVE10",
            )
        )
        await work.commit()
    async with uow() as work:
        facts = {f.customer_id: f for f in await work.engagement.customer_facts()}
    await engine.dispose()
    assert facts[ids["Bob"]].orders == (
        OrderFact(
            "B-1",
            OrderStatus.PENDING,
            NOW - timedelta(hours=2),
            used_coupon=True,
            amount_cents=1999,
        ),
    )
    assert facts[ids["Ann"]].birthday == date(1991, 12, 1)
    return ids


async def outbox_rows(url: str) -> int:
    engine = make_engine(url)
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(OutboxRow))).scalar_one()
    await engine.dispose()
    return int(count)


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, int]]:
    url = database_url
    key = new_key()
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", key)
    monkeypatch.delenv("RAPPORT_PLAYBOOK_FILE", raising=False)
    return url, asyncio.run(seed(url, key))


def test_preview_shows_who_gets_what_and_why_the_rest_are_skipped(
    shop: tuple[str, dict[str, int]],
) -> None:
    url, ids = shop
    result = runner.invoke(app, ["playbook", "preview", "--as-of", NOW.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    rules = {r["rule"]: r for r in json.loads(result.output)["rules"]}
    ann, bob, cy = ids["Ann"], ids["Bob"], ids["Cy"]
    checkin = rules["high-checkin"]["planned"]
    assert [(p["customer_id"], p["key"], p["template"]) for p in checkin] == [
        (ann, f"engage:high-checkin:{ann}:2026-12", "engage.high.checkin")
    ]
    assert [p["task"] for p in checkin] == ["advisor_checkin"]  # a card for her advisor
    assert [p["message_waits_for_staff"] for p in checkin] == [True]
    # the check-in takes no place under the cap (staff decide on its message); the event and
    # the birthday do, so the survey comes third for Ann today: the cap of 2 in 7 days holds it
    assert rules["birthday"]["skipped"] == []
    assert rules["survey-high"]["skipped"] == [
        {"customer_id": ann, "reason": "cap", "period": "2026Q4"}
    ]
    assert rules["base-coupon"]["skipped"] == [
        {"customer_id": bob, "reason": "no_consent", "period": "2026-12"}
    ]
    assert rules["mid-news"]["skipped_by_reason"] == {"blocked": 1}
    reminder = rules["payment-reminder"]["planned"]
    assert [(p["customer_id"], p["key"]) for p in reminder] == [
        (bob, f"engage:payment-reminder:{bob}:order-B-1")
    ]
    assert rules["payment-reminder"]["kind"] == "service"
    assert cy not in [p["customer_id"] for r in rules.values() for p in r["planned"]]
    assert asyncio.run(outbox_rows(url)) == 0  # a preview writes nothing


def test_preview_of_one_rule_as_text(shop: tuple[str, dict[str, int]]) -> None:
    _url, ids = shop
    late = NOW.replace(hour=14)  # 22:00 in Shanghai: Ann's invitation is held until 09:00
    result = runner.invoke(
        app, ["playbook", "preview", "--rule", "high-member-event", "--as-of", late.isoformat()]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "high-member-event (marketing): 1 would receive, 0 skipped, 0 not due"
    assert lines[2] == (
        f"  -> customer {ids['Ann']}: engage.high.event_invitation [en] variant default "
        "(default) from 2026-12-02 01:00 UTC, held by quiet hours"
    )
    assert len(lines) == 3
    # the check-in is a task for her advisor: its card goes to staff now, quiet hours or not
    result = runner.invoke(
        app, ["playbook", "preview", "--rule", "high-checkin", "--as-of", late.isoformat()]
    )
    assert result.output.splitlines()[2] == (
        f"  -> customer {ids['Ann']}: engage.high.checkin (suggested; sent only if staff choose "
        "so) [en] variant default (default) from 2026-12-01 14:00 UTC, opens task advisor_checkin"
    )


def test_an_unknown_rule_is_refused(shop: tuple[str, dict[str, int]]) -> None:
    result = runner.invoke(app, ["playbook", "preview", "--rule", "nope"])
    assert result.exit_code == 2
    assert "no rule 'nope'" in result.output and "high-checkin" in result.output


def test_a_broken_playbook_file_stops_the_preview(
    shop: tuple[str, dict[str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "playbook.yaml"
    bad.write_text("rules:\n  - id: x\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_PLAYBOOK_FILE", str(bad))
    result = runner.invoke(app, ["playbook", "preview"])
    assert result.exit_code == 2
    assert f"{bad}:2: rule 'x' must say its kind" in result.output


async def run_twice(url: str, key: str) -> tuple[list[int], list[int], int]:
    engine = make_engine(url)
    deps = Deps(
        policies=policies(Settings()),
        uow=SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(key)),
        renderer=language(),
        faq=FixedFaq(),
        triage=triage(),
        clock=FrozenClock(NOW),
        messenger=RecordingMessenger(),
    )
    first = await run_playbook(deps)
    second = await run_playbook(deps)
    await engine.dispose()
    return first.queued, second.queued, second.already


def test_the_job_on_sqlite_enqueues_once(shop: tuple[str, dict[str, int]]) -> None:
    url, _ids = shop
    key = os.environ["RAPPORT_ENCRYPTION_KEY"]
    first, second, already = asyncio.run(run_twice(url, key))
    assert len(first) == 3  # Ann's check-in and member event, Bob's payment reminder
    assert second == [] and already == 0  # the second run plans nothing: the keys are there
    assert asyncio.run(outbox_rows(url)) == 3
