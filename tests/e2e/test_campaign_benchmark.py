"""``python -m benchmarks.campaign`` runs and prints its one JSON object: a small campaign on
the paid limit through each framework (seconds), and the enqueue-only timing. What is checked
is behaviour — every recipient reached once, the report adding up, the run ended — not the
timings, which are in docs/performance.md."""

from __future__ import annotations

import json

import pytest

from benchmarks import campaign
from bot.app.settings import Framework
from tests.bot_database import BENCHMARK_ON_SQLITE, BOT_DATABASE
from tests.e2e.conftest import FRAMEWORKS

pytestmark = pytest.mark.e2e

KEYS = {
    "recipients",
    "limit_per_s",
    "achieved_per_s",
    "ratio",
    "http_429",
    "service_p95_s",
    "report_adds_up",
    "seconds",
    "first_tick_s",
    "ticks_s",
    "enqueue_ms_per_recipient",
}
RECIPIENTS = 150


@BOT_DATABASE
@BENCHMARK_ON_SQLITE
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_campaign_benchmark_prints_one_json_object(
    framework: Framework, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign.main(
        [
            "--json",
            "--framework",
            framework,
            "--recipients",
            str(RECIPIENTS),
            "--rate",
            "200",
            "--paid",
            "--customers",
            "2",
            "--every",
            "0.5",
            "--tick-seconds",
            "0.2",
        ]
    )
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    assert (figures["recipients"], figures["limit_per_s"], figures["framework"]) == (
        RECIPIENTS,
        200,
        framework,
    )
    # Every recipient reached once, whatever the machine's speed; the run ended.
    assert (figures["delivered"], figures["lost"], figures["duplicates"]) == (RECIPIENTS, 0, 0)
    assert figures["report"]["sent"] == RECIPIENTS and figures["report"]["waiting"] == 0
    assert figures["report_adds_up"] is True and figures["campaign_state"] == "done"
    assert figures["ticks"] >= 2 and figures["first_tick_s"] > 0 and figures["tick_errors"] == []


def test_the_enqueue_only_timing_queues_the_whole_audience_in_one_tick(
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign.main(["--json", "--enqueue-only", "--recipients", "250"])
    figures = json.loads(capsys.readouterr().out)
    assert figures["decided"] == {"queued": 250}
    assert figures["enqueue_s"] > 0 and figures["enqueue_ms_per_recipient"] > 0
