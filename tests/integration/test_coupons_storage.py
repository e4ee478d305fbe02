"""Coupons on SQLite (migration 0016): the playbook job issues one coupon per engagement
message however often it runs; ``rapport import orders`` redeems a customer's own valid code
and counts the codes it does not redeem (another customer's, expired, used) without losing
any order; ``customer show --json`` shows the coupons with their redemption."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.consent import ConsentChange, ConsentSource
from bot.core.coupons import Coupon, CouponSource, issue
from bot.core.deps import Deps
from bot.core.engagement.playbook import CouponKind, CouponSpec
from bot.core.models import Customer
from bot.core.services.engagement import EngagementRun, run_playbook
from storage.crypto import PersonalDataCipher, new_key
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import CouponRow, CustomerOrderRow, CustomerTierRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FixedFaq, FrozenClock, RecordingMessenger
from tests.unit.conftest import language, triage

runner = CliRunner()
NOW = (datetime.now(UTC) - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
"""Three days ago: the import refuses orders placed in the future, by the real clock."""
PERIOD = f"{NOW:%Y-%m}"


async def seed_and_run(url: str, key: str) -> tuple[EngagementRun, EngagementRun, list[Coupon]]:
    """Ann (C1) and Bob (C2): base tier, consenting; the job runs twice, as after a restart.
    Bob also holds an old coupon that expired."""
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    uow = SqlUnitOfWorkFactory.from_engine(engine, PersonalDataCipher(key))
    try:
        async with uow() as work:
            for n, name in enumerate(("Ann", "Bob"), start=1):
                customer = await work.customers.add(
                    Customer(
                        telegram_user_id=100 + n,
                        chat_id=100 + n,
                        display_name=name,
                        first_name=name,
                        customer_ref=f"C{n}",
                        created_at=NOW - timedelta(days=400),
                        updated_at=NOW - timedelta(days=400),
                    )
                )
                assert customer.id is not None
                await work.records.record_consent(
                    ConsentChange(customer.id, True, ConsentSource.IMPORT, NOW)
                )
                work.session.add(
                    CustomerTierRow(
                        customer_id=customer.id,
                        as_of=NOW.date(),
                        tier="base",
                        segment="loyal",
                        lifecycle="active",
                        recency_days=10,
                        frequency=3,
                        monetary_cents=9000,
                    )
                )
            assert customer.id is not None  # Bob
            old = issue(
                CouponSpec(CouponKind.FIXED, 500, valid_days=10),
                code="7LDX-CDEF",
                customer_id=customer.id,
                currency="CNY",
                source=CouponSource.CAMPAIGN,
                source_ref="campaign:autumn",
                now=NOW - timedelta(days=60),
            )
            await work.coupons.add(old)
            await work.commit()
        deps = Deps(
            policies=policies(Settings()),
            uow=uow,
            renderer=language(),
            faq=FixedFaq(),
            triage=triage(),
            clock=FrozenClock(NOW),
            messenger=RecordingMessenger(),
        )
        first = await run_playbook(deps)
        second = await run_playbook(deps)  # a re-run, or a restart
        async with uow() as work:
            coupons = [c for n in (1, 2) for c in await work.coupons.for_customer(n)]
    finally:
        await engine.dispose()
    return first, second, coupons


async def count(url: str, table: type) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        await engine.dispose()


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    url = database_url
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", new_key())
    monkeypatch.delenv("RAPPORT_PLAYBOOK_FILE", raising=False)
    return url


def test_issued_once_redeemed_once_and_shown(shop: str, tmp_path: Path) -> None:
    url = shop
    first, second, coupons = asyncio.run(seed_and_run(url, os.environ["RAPPORT_ENCRYPTION_KEY"]))
    assert first.coupons == 2 and second.coupons == 0 and not second.written
    by_ref = {c.source_ref: c for c in coupons}
    ann = by_ref[f"engage:base-coupon:1:{PERIOD}"]
    bob = by_ref[f"engage:base-coupon:2:{PERIOD}"]
    assert ann.customer_id == 1 and bob.customer_id == 2
    assert asyncio.run(count(url, CouponRow)) == 3

    placed = (NOW + timedelta(days=1)).isoformat()
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_ref,amount,currency,status,created_at,paid_at,coupon_code\n"
        # Ann's own code, typed in lower case: redeemed
        f"A-1,C1,80.00,CNY,paid,{placed},{placed},{ann.code.lower()}\n"
        # Ann's code again, on another order: already used
        f"A-2,C1,30.00,CNY,paid,{placed},{placed},{ann.code}\n"
        # Bob tries Ann's code: another customer's
        f"B-1,C2,50.00,CNY,paid,{placed},{placed},{ann.code}\n"
        # Bob's expired coupon
        f"B-2,C2,50.00,CNY,paid,{placed},{placed},7LDX-CDEF\n"
        # the shop's own code: none of ours, not counted as a problem
        f"B-3,C2,50.00,CNY,paid,{placed},{placed},WELCOME10\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "orders", str(orders), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "5 created" in result.output
    assert (
        "coupons: 1 redeemed, not redeemed: 1 expired, 1 other_customer, 1 used" in result.output
    )
    assert asyncio.run(count(url, CustomerOrderRow)) == 5  # no order lost

    again = runner.invoke(app, ["import", "orders", str(orders), "--quiet"])
    assert again.exit_code == 0 and "coupons:" not in again.output  # nothing new

    shown = json.loads(runner.invoke(app, ["customer", "show", "C1", "--json"]).output)
    [mine] = shown["coupons"]
    assert mine["code"] == ann.code and mine["kind"] == "percent" and mine["value"] == 10
    assert mine["source"] == "rule" and mine["source_ref"] == ann.source_ref
    assert mine["redeemed"]["order_id"] == "A-1" and mine["redeemed"]["amount"] == "80.00"
    assert shown["points"] == {"balance": 110, "level": "member", "window_points": 110}
    text = runner.invoke(app, ["customer", "show", "C1"]).output
    assert f"{ann.code} (redeemed by order A-1)" in text
    assert "110 (level member, 110 in the level window)" in text
    bobs = json.loads(runner.invoke(app, ["customer", "show", "C2", "--json"]).output)
    assert {c["code"] for c in bobs["coupons"]} == {bob.code, "7LDX-CDEF"}
    assert all(c["redeemed"] is None for c in bobs["coupons"])
