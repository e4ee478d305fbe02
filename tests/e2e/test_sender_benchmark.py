"""``python -m benchmarks.sender`` runs and prints its one JSON object (a tiny run on the paid
limit, so it takes seconds; the figures themselves are in docs/performance.md, not checked
here: a test checks behaviour, not timings)."""

from __future__ import annotations

import json

import pytest

from benchmarks import http_cost, sender
from tests.bot_database import BENCHMARK_ON_SQLITE, BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS

pytestmark = pytest.mark.e2e

KEYS = {
    "limit_per_s",
    "achieved_per_s",
    "ratio",
    "http_429",
    "sent",
    "lost",
    "duplicates",
    "service_p95_s",
    "baseline_ratio",
}


@BOT_DATABASE
@BENCHMARK_ON_SQLITE
def test_the_sender_benchmark_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    sender.main(
        [
            "--json",
            "--messages",
            "40",
            "--rate",
            "200",
            "--paid",
            "--customers",
            "4",
            "--every",
            "0.5",
            "--baseline-messages",
            "10",
        ]
    )
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    assert figures["limit_per_s"] == 200 and figures["telegram_limit_per_s"] == 1000
    # Nothing lost or doubled, whatever the machine's speed.
    assert (figures["sent"], figures["lost"], figures["duplicates"]) == (40, 0, 0)
    assert figures["outbox_states"] == {"sent": 40}
    assert figures["cpu_ms_per_message"] > 0


@pytest.mark.parametrize("client", ["rapport", "stock"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_http_cost_benchmark_prints_one_json_object(
    framework: str, client: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m benchmarks.http_cost``: the adapters' HTTP clients and the frameworks'
    own, measured the same way (a tiny run)."""
    http_cost.main(
        ["--framework", framework, "--client", client, "--messages", "20", "--concurrency", "5"]
    )
    figures = json.loads(capsys.readouterr().out)
    assert (figures["framework"], figures["client"], figures["messages"]) == (
        framework,
        client,
        20,
    )
    assert figures["cpu_ms_per_send"] > 0 and figures["sends_per_s"] > 0
