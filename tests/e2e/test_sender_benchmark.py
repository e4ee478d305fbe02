"""``python -m benchmarks.sender`` runs and prints its one JSON object (a tiny run on the paid
limit, so it takes seconds; the figures themselves are in docs/performance.md, not checked
here: a test checks behaviour, not timings)."""

from __future__ import annotations

import json

import pytest

from benchmarks import sender

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
