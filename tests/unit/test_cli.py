"""The command line: its commands, and clear one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.app.cli import app

runner = CliRunner()


def test_help_lists_run_and_demo() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "run" in result.output and "demo" in result.output


def test_run_without_a_token_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("RAPPORT_BOT_TOKEN", raising=False)
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN" in result.output and "rapport demo" in result.output


def test_a_bad_setting_is_named_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_CHAT_BURST", "lots")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "chat_burst" in result.output and "Traceback" not in result.output


def test_an_unknown_framework_is_refused() -> None:
    result = runner.invoke(app, ["run", "--framework", "telethon"])
    assert result.exit_code != 0


def test_settings_table_documents_every_setting() -> None:
    result = runner.invoke(app, ["settings", "--markdown"])
    assert result.exit_code == 0
    assert "RAPPORT_FAQ_ANSWER_THRESHOLD" in result.output
    assert result.output.count("\n|") >= 15
