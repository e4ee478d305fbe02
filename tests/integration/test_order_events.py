"""The order events endpoint over HTTP against a real database (issue #10; an SQLite file, or
PostgreSQL in the PostgreSQL pass: :mod:`tests.bot_database`): signatures,
refusals that change nothing, repeats and late events, and RFM buckets equal to an import's."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.events_server import PATH, EventsConfigError, events_app, events_secret
from bot.app.settings import Settings
from bot.core.importing import ORDER_COLUMNS
from bot.core.order_events import SIGNATURE_HEADER, sign
from bot.core.tiers import TierPolicy
from storage.customers_import import import_orders
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.bot_database import BotDatabases, bot_database_url
from tests.fakes import FrozenClock

SECRET = b"s3cret-for-tests"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(hours=3)
PAID = NOW - timedelta(hours=2)
DELIVERED = NOW - timedelta(hours=1)
#: The tables an order event may change (and a refused one must not).
TABLES = ("customer", "customer_order", "customer_paid_day", "customer_rfm")


async def fresh_engine(path: Path) -> AsyncEngine:
    url = await bot_database_url(path)
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    return engine


@dataclass
class Endpoint:
    url: str
    engine: AsyncEngine
    http: aiohttp.ClientSession

    async def post(
        self, body: bytes | dict[str, Any], signature: str | None = "good"
    ) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "good":
            headers[SIGNATURE_HEADER] = sign(SECRET, raw)
        elif signature is not None:
            headers[SIGNATURE_HEADER] = signature
        async with self.http.post(self.url, data=raw, headers=headers) as response:
            return response.status, await response.json()


@pytest.fixture
async def endpoint(tmp_path: Path, bot_database: BotDatabases) -> AsyncIterator[Endpoint]:
    """The endpoint on a fresh database (on both backends: it asks for ``bot_database``)."""
    engine = await fresh_engine(tmp_path / "events.db")
    app = events_app(
        engine,
        SECRET,
        clock=FrozenClock(NOW),
        shop_currency="CNY",
        policy=TierPolicy(),
        max_body_bytes=4096,
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            yield Endpoint(f"http://127.0.0.1:{port}{PATH}", engine, http)
    finally:
        await runner.cleanup()
        await engine.dispose()


def event(kind: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": kind,
        "order_id": "A-1",
        "customer_ref": "C-1",
        "amount": "120.50",
        "created_at": CREATED.isoformat(),
    }
    if kind in ("paid", "delivered", "refunded"):
        body["paid_at"] = PAID.isoformat()
    if kind == "delivered":
        body["delivered_at"] = DELIVERED.isoformat()
    return {**body, **extra}


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an event touches, timestamps of writes left out."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in TABLES:
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).mappings().all()
            out[table] = sorted(
                tuple(v for k, v in row.items() if k not in ("updated_at", "id")) for row in rows
            )
    return out


async def order_status(engine: AsyncEngine) -> tuple[str, Any, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, paid_at, delivered_at FROM customer_order "
                    "WHERE order_id = 'A-1'"
                )
            )
        ).one()
    return row[0], row[1], row[2]


async def test_a_signed_event_creates_the_order_and_its_customer(endpoint: Endpoint) -> None:
    status, answer = await endpoint.post(event("created"))
    assert status == 200
    assert answer == {"order_id": "A-1", "result": "created", "status": "pending"}
    assert (await order_status(endpoint.engine))[0] == "pending"


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", sign(b"another secret", b"{}"), "sha256=zz"],
)
async def test_a_bad_or_missing_signature_is_401_and_changes_nothing(
    endpoint: Endpoint, signature: str | None
) -> None:
    before = await snapshot(endpoint.engine)
    status, answer = await endpoint.post(event("created"), signature=signature)
    assert status == 401
    assert SIGNATURE_HEADER in answer["error"]
    assert await snapshot(endpoint.engine) == before


async def test_a_signature_over_another_body_is_refused(endpoint: Endpoint) -> None:
    body = json.dumps(event("created")).encode()
    tampered = body.replace(b"120.50", b"1.00")
    status, _ = await endpoint.post(tampered, signature=sign(SECRET, body))
    assert status == 401
    assert await snapshot(endpoint.engine) == {t: [] for t in TABLES}


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"event": "paid", "amount": NaN}', "NaN"),
        (b"\xff\xfe{}", "UTF-8"),
        (event("created", colour="red"), "'colour'"),
        (event("shipped"), "event 'shipped'"),
        (event("created", amount=[1]), "amount must be a number"),
        (event("created", amount="-3"), "amount"),
        (event("created", created_at="yesterday"), "created_at"),
        (event("created", currency="USD"), "currency"),
        (event("created", order_id=None), "order_id"),
        (event("created", status="paid"), "status 'paid' disagrees"),
        (event("paid", paid_at=None), "paid_at"),
        (event("delivered", delivered_at=None), "delivered_at"),
        (event("created", created_at=(NOW + timedelta(days=3)).isoformat()), "future"),
    ],
)
async def test_a_malformed_event_is_400_naming_the_field_and_changes_nothing(
    endpoint: Endpoint, body: bytes | dict[str, Any], names: str
) -> None:
    before = await snapshot(endpoint.engine)
    status, answer = await endpoint.post(body)
    assert status == 400
    assert names in answer["error"]
    assert await snapshot(endpoint.engine) == before


async def test_a_body_over_the_limit_is_413(endpoint: Endpoint) -> None:
    status, answer = await endpoint.post(event("created", coupon_code="X" * 5000))
    assert status == 413
    assert "4096" in answer["error"]
    assert await snapshot(endpoint.engine) == {t: [] for t in TABLES}


async def test_an_event_for_another_customer_is_422_and_changes_nothing(
    endpoint: Endpoint,
) -> None:
    await endpoint.post(event("paid"))
    before = await snapshot(endpoint.engine)
    status, answer = await endpoint.post(event("delivered", customer_ref="C-2"))
    assert status == 422
    assert "customer_ref" in answer["error"]
    assert await snapshot(endpoint.engine) == before


async def test_a_repeated_event_changes_nothing(endpoint: Endpoint) -> None:
    for kind in ("created", "paid", "delivered"):
        await endpoint.post(event(kind))
        before = await snapshot(endpoint.engine)
        status, answer = await endpoint.post(event(kind))
        assert (status, answer["result"]) == (200, "unchanged")
        assert await snapshot(endpoint.engine) == before


async def test_a_late_event_never_moves_the_order_back(endpoint: Endpoint) -> None:
    await endpoint.post(event("paid"))
    status, answer = await endpoint.post(event("created"))
    assert (status, answer["status"], answer["result"]) == (200, "paid", "unchanged")
    await endpoint.post(event("delivered"))
    _, answer = await endpoint.post(event("paid"))
    assert answer["status"] == "delivered"
    _, answer = await endpoint.post(event("refunded"))
    assert answer["status"] == "refunded"
    _, answer = await endpoint.post(event("delivered"))
    assert answer["status"] == "refunded"
    _, answer = await endpoint.post(event("cancelled"))
    assert answer["status"] == "refunded"


async def test_a_late_paid_event_fills_in_paid_at(endpoint: Endpoint) -> None:
    await endpoint.post(event("delivered", paid_at=None))
    assert (await order_status(endpoint.engine))[1] is None
    _, answer = await endpoint.post(event("paid"))
    assert (answer["status"], answer["result"]) == ("delivered", "updated")
    status, paid_at, delivered_at = await order_status(endpoint.engine)
    assert status == "delivered" and paid_at is not None and delivered_at is not None


async def final_state(engine: AsyncEngine) -> dict[str, Any]:
    """The pushed order as a row of an order file."""
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text(
                        "SELECT o.*, c.customer_ref FROM customer_order o "
                        "JOIN customer c ON c.id = o.customer_id WHERE o.order_id = 'A-1'"
                    )
                )
            )
            .mappings()
            .one()
        )
    out = {k: row[k] for k in ORDER_COLUMNS if k in row and k != "amount"}
    out["amount"] = f"{row['amount_cents'] / 100:.2f}"
    for moment in ("created_at", "paid_at", "delivered_at"):
        if out[moment] is not None:
            out[moment] = str(out[moment])  # SQLite keeps UTC, naive: the import reads it so
    return out


async def imported(tmp_path: Path, final: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """The tables after `rapport import orders` of one row: the order's final state."""
    engine = await fresh_engine(tmp_path / "imported.db")
    try:
        report = await import_orders(engine, [(2, final)], shop_currency="CNY", now=NOW)
        assert report.created == 1, report.rejected
        return await snapshot(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["created", "paid"], "paid"),
        (["paid", "created"], "paid"),
        (["created", "paid", "delivered"], "delivered"),
        (["delivered", "created", "paid"], "delivered"),
        (["created", "paid", "delivered", "refunded"], "refunded"),
        (["paid", "refunded", "paid", "delivered"], "refunded"),
        (["created", "cancelled", "paid"], "cancelled"),
    ],
)
async def test_the_rfm_buckets_equal_an_import_of_the_final_state(
    endpoint: Endpoint, tmp_path: Path, sequence: list[str], final: str
) -> None:
    for kind in sequence:
        status, _ = await endpoint.post(event(kind))
        assert status == 200
    pushed = await snapshot(endpoint.engine)
    state = await final_state(endpoint.engine)
    assert state["status"] == final
    assert meaning(pushed) == meaning(await imported(tmp_path, state))
    counted = sum(row[2] for row in pushed["customer_paid_day"])
    assert counted == (1 if final in ("paid", "delivered") else 0)


def meaning(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The tables with empty aggregates left out: a paid order that is later refunded leaves
    a zero bucket and a zero running total (the import does the same when a later file
    refunds it), which mean what no row means — no paid order."""
    return {
        "customer": tables["customer"],
        "customer_order": tables["customer_order"],
        "customer_paid_day": [r for r in tables["customer_paid_day"] if r[2]],
        "customer_rfm": [r for r in tables["customer_rfm"] if any(r[1:])],
    }


def test_a_port_without_a_secret_is_refused_in_one_line() -> None:
    with pytest.raises(EventsConfigError) as caught:
        events_secret(Settings(events_port=8081, events_secret=None))
    message = str(caught.value)
    assert "\n" not in message and "RAPPORT_EVENTS_SECRET" in message
    assert events_secret(Settings(events_port=None)) is None
    assert events_secret(Settings(events_port=8081, events_secret="x")) == b"x"


def test_rapport_run_refuses_a_port_without_a_secret_before_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from bot.app.cli import app

    monkeypatch.setenv("RAPPORT_BOT_TOKEN", "123456:TEST")
    monkeypatch.setenv("RAPPORT_EVENTS_PORT", "8081")
    monkeypatch.delenv("RAPPORT_EVENTS_SECRET", raising=False)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "RAPPORT_EVENTS_SECRET" in lines[0]


async def test_the_secret_and_the_body_never_reach_the_log(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await endpoint.post(event("created", customer_ref="PRIVATE-REF"), signature="sha256=00")
    await endpoint.post(event("created", amount="-1", customer_ref="PRIVATE-REF"))
    await endpoint.post(event("created", customer_ref="PRIVATE-REF"))
    # rapport's own lines (aiosqlite prints every statement's parameters at DEBUG)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "order event" in logged
    assert SECRET.decode() not in logged and "PRIVATE-REF" not in logged
