"""``rapport import``, ``rapport tiers`` and ``rapport customer`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.core.tiers import TierPolicy
from storage.crypto import new_key

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", new_key())
    monkeypatch.setenv("RAPPORT_BOT_USERNAME", "teashop_bot")
    return tmp_path


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def with_rejections(*args: str) -> str:
    """The examples hold a few bad rows on purpose: those are listed and the status is 1."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "rejected (listed above)" in result.output
    return result.output


def test_the_example_shop_end_to_end(shop: Path) -> None:
    out = with_rejections("import", "customers", str(EXAMPLES / "customers.csv"), "--quiet")
    assert "300 created" in out and "5 rejected" in out
    assert "customers.csv:42: email is not an e-mail address" in out
    out = with_rejections("import", "orders", str(EXAMPLES / "orders.csv"), "--quiet")
    assert "orders.csv:152: status 'shipped'" in out and "1 new customers" in out
    again = with_rejections("import", "orders", str(EXAMPLES / "orders.jsonl"), "--quiet")
    assert "0 created, 0 updated, 3832 unchanged" in again
    ok("tiers", "recompute", "--as-of", "2025-12-31")
    shown = json.loads(ok("tiers", "show", "--json"))
    assert list(shown) == ["tiers", "lifecycle", "segments"]
    assert list(shown["tiers"]) == ["high", "mid", "base", "prospect"]
    tiers = shown["tiers"]
    tiered = tiers["high"] + tiers["mid"] + tiers["base"]
    assert (tiers["high"], tiers["mid"], tiers["base"]) == TierPolicy().split_counts(tiered)
    assert (tiers["high"], tiers["mid"], tiers["base"]) == (54, 161, 54)
    assert sum(shown["segments"].values()) == tiered
    assert "Tiers × lifecycle" in ok("tiers", "show")
    one = json.loads(ok("customer", "show", "C00003", "--json"))
    assert set(one) >= {"recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"}
    assert one["tier"] in ("high", "mid", "base") and one["lifecycle"] and "tags" in one
    held = json.loads(ok("customer", "export", "C00001"))
    assert held["profile"]["phone"] == "+447700900001" and held["orders"]
    url = ok("customer", "link-url", "C00001").strip()
    assert url.startswith("https://t.me/teashop_bot?start=")
    assert "erased" in ok("customer", "forget", "C00001", "--yes")
    result = runner.invoke(app, ["customer", "show", "C00001"])
    assert result.exit_code == 2 and "no customer with reference" in result.output


def test_errors_are_one_line_with_exit_code_2(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = runner.invoke(app, ["import", "orders", "nowhere.csv"])
    assert missing.exit_code == 2 and missing.output.strip() == "error: nowhere.csv: no such file"
    bad_header = shop / "bad.csv"
    bad_header.write_text("order_id,customer,amount\n1,2,3\n")
    result = runner.invoke(app, ["import", "orders", str(bad_header)])
    assert result.exit_code == 2 and "bad.csv:1: missing column(s)" in result.output
    assert "Traceback" not in result.output
    monkeypatch.delenv("RAPPORT_ENCRYPTION_KEY")
    result = runner.invoke(app, ["import", "customers", str(EXAMPLES / "customers.csv")])
    assert result.exit_code == 2 and "RAPPORT_ENCRYPTION_KEY" in result.output
    monkeypatch.setenv("RAPPORT_ENCRYPTION_KEY", "too-short")
    result = runner.invoke(app, ["customer", "export", "C1"])
    assert result.exit_code == 2 and "too-short" not in result.output
    result = runner.invoke(app, ["tiers", "recompute", "--as-of", "someday"])
    assert result.exit_code == 2 and "--as-of" in result.output
