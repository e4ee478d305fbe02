"""`rapport faq`: one question or a file of questions, as JSON objects."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.app.cli import app

runner = CliRunner()


def test_one_question_as_json_names_outcome_entry_score_and_locale() -> None:
    result = runner.invoke(app, ["faq", "--json", "--locale", "en", "where is my order 123"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["outcome"] == "answer" and data["entry_id"] == "order-status"
    assert data["locale"] == "en" and data["score"] >= 50


def test_small_talk_is_no_match() -> None:
    result = runner.invoke(app, ["faq", "--json", "hello, thanks!"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == {
        "outcome": "none",
        "entry_id": None,
        "score": 0.0,
        "locale": "en",
        "matched_locale": None,
    }


def test_a_file_gives_one_object_per_non_blank_line_with_its_locale(tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_text(
        "\ufeffwhere is my order\n\nzh-Hant\t退款多久會入帳\r\n怎么修改密码\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["faq", "--json", "--file", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["locale"] for r in rows] == ["en", "zh-Hant", "zh-Hans"]
    assert [r["entry_id"] for r in rows] == ["order-status", "refund-time", "account-password"]


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_bytes(b"where is my order\n\xff\xfe broken\n")
    result = runner.invoke(app, ["faq", "--json", "--file", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2: not valid UTF-8" in result.output


def test_an_unknown_locale_is_refused() -> None:
    result = runner.invoke(app, ["faq", "--locale", "fr", "where is my order"])
    assert result.exit_code == 2 and "unknown locale" in result.output
