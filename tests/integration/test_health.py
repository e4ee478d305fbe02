"""``/healthz`` says 503 when this worker should not take traffic (issue #13): the schema is
behind the code, or the database cannot be reached; 200 with the outbox backlog otherwise.
The endpoints' wiring (webhook port, polling port, metrics) is tested end to end in
tests/e2e/test_webhook.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert

from bot.app.health import HealthProbe
from bot.core.outbox_model import OutboxState
from storage.engine import make_engine
from storage.migrate import downgrade, upgrade
from storage.tables import OutboxRow
from tests.bot_database import write_lock_held

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def probe_for(url: str, engine: Any) -> HealthProbe:
    clock = SimpleNamespace(now=lambda: NOW)
    services = SimpleNamespace(
        settings=SimpleNamespace(database_url=url), engine=engine, clock=clock
    )
    return HealthProbe(services)  # type: ignore[arg-type]


async def answer(probe: HealthProbe) -> tuple[int, dict[str, Any]]:
    response = await probe.healthz(None)  # type: ignore[arg-type]
    assert response.text is not None
    return response.status, json.loads(response.text)


async def test_healthy_with_backlog_then_503_when_the_schema_is_behind(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        queued = NOW - timedelta(minutes=5)
        row = {
            "lane": "marketing",
            "chat_id": 42,
            "text": "news",
            "buttons": "[]",
            "parse_mode": "HTML",
            "remove_keyboard": False,
            "template_key": "engage.mid.news",
            "idempotency_key": "health-test",
            "state": OutboxState.PENDING.value,
            "attempts": 0,
            "not_before": queued,
            "created_at": queued,
        }
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxRow).values(**row))
        status, body = await answer(probe_for(database_url, engine))
        assert status == 200 and body["status"] == "ok"
        assert body["outbox"] == {"pending": {"marketing": 1}, "oldest_pending_seconds": 300.0}
        assert body["lease_holder"] is None  # no bot attached: nobody runs the jobs
        await downgrade(database_url, "-1")
        status, body = await answer(probe_for(database_url, engine))
        assert status == 503 and body["status"] == "unhealthy"
        assert body["schema"]["at_head"] is False and body["database"] is True
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "unreachable",
    [
        "sqlite+aiosqlite:///{tmp}/no-such-dir/bot.db",
        "postgresql+asyncpg://rapport@/rapport?host={tmp}/no-such-socket-dir",
    ],
)
async def test_503_when_the_database_cannot_be_reached(tmp_path: Path, unreachable: str) -> None:
    url = unreachable.format(tmp=tmp_path)
    engine = make_engine(url)
    try:
        status, body = await answer(probe_for(url, engine))
    finally:
        await engine.dispose()
    assert status == 503
    assert body["database"] is False and body["schema"] is None


async def test_a_write_holding_the_lock_does_not_stall_the_probe(database_url: str) -> None:
    """An import, a VACUUM or a migration may hold the write lock for longer than a load
    balancer waits (SQLite's on the whole file; on PostgreSQL an exclusive lock on every
    table); the probe only reads, so it must answer at once rather than queue behind it."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with write_lock_held(database_url):  # held for the whole probe
            status, body = await answer(probe_for(database_url, engine))
    finally:
        await engine.dispose()
    assert status == 200 and body["database"] is True  # a probe that writes: 503 after 5 s
