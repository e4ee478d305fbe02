"""`rapport triage`: one message or a file of messages, as JSON or a table."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.app.cli import app

runner = CliRunner()


def test_one_message_as_json() -> None:
    result = runner.invoke(app, ["triage", "--json", "水壺壞了，要求退貨"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"kind", "severity", "negativity", "locale", "signals"} <= data.keys()
    assert data["kind"] == "complaint" and data["severity"] == "quality"
    assert data["locale"] == "zh-Hant"
    assert "水壺" in result.output  # not escaped (ensure_ascii=False)


def test_one_message_as_a_table() -> None:
    result = runner.invoke(app, ["triage", "the kettle arrived broken, I want a refund"])
    assert result.exit_code == 0, result.output
    assert "quality" in result.output and "broken kettle" in result.output


def test_a_file_gives_one_object_per_non_blank_line_in_order(tmp_path: Path) -> None:
    path = tmp_path / "messages.txt"
    path.write_text(
        "what is your refund policy?\n\n收到的水壶是坏的，我要退款\r\nI will sue you\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["triage", "--json", "--file", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["severity"] for r in rows] == [None, "quality", "major"]
    assert [r["locale"] for r in rows] == ["en", "zh-Hans", "en"]


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    result = runner.invoke(app, ["triage", "--json", "--file", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in result.output and "Traceback" not in result.output


def test_an_undecodable_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\n\xff\xfe broken\n")
    result = runner.invoke(app, ["triage", "--json", "--file", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2" in result.output


def test_text_and_file_together_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["triage", "hello", "--file", str(tmp_path / "x")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["triage"])
    assert result.exit_code == 2
