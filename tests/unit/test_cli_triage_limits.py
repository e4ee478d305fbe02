"""`rapport triage --file` on hostile files: lines are cut, signals capped, output bounded."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.cli.triage import MAX_LINE_CHARS, MAX_SIGNAL_CHARS, MAX_SIGNALS

runner = CliRunner()


def triage_file(path: Path, *options: str) -> list[str]:
    result = runner.invoke(app, ["triage", *options, "--file", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_a_megabyte_line_is_cut_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    huge = "broken kettle refund " * 50_000  # about 1 MB
    path.write_text(f"hello\n{huge}\nI will sue you\n", encoding="utf-8")
    lines = triage_file(path, "--json")
    assert len(lines) == 3
    first, cut, last = (json.loads(line) for line in lines)
    assert "cut" not in first and "cut" not in last and last["severity"] == "major"
    assert cut["cut"] == {"kept_chars": MAX_LINE_CHARS, "line_bytes": len(huge) + 1}
    assert len(cut["signals"]) <= MAX_SIGNALS and cut["signals_omitted"] > 0
    assert len(lines[1]) < 20_000  # not 4 MB of repeated signals
    assert all(len(v) <= MAX_SIGNAL_CHARS + 1 for s in cut["signals"] for v in s.values())


def test_a_cut_through_a_multibyte_character_drops_only_that_character(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_text("水" * (MAX_LINE_CHARS * 2) + "\nok\n", encoding="utf-8")
    first, second = (json.loads(line) for line in triage_file(path, "--json"))
    assert first["cut"]["kept_chars"] == MAX_LINE_CHARS and "cut" not in second


def test_signals_are_distinct_and_capped_in_the_table_too(tmp_path: Path) -> None:
    path = tmp_path / "repeat.txt"
    path.write_text("broken " * 1000 + "\n", encoding="utf-8")
    data = json.loads(triage_file(path, "--json")[0])
    assert data["signals"].count(data["signals"][0]) == 1
    table = runner.invoke(app, ["triage", "broken " * 1000])
    assert table.exit_code == 0 and "more" in table.stdout
    assert table.stdout.count("signal ") <= MAX_SIGNALS + 1
