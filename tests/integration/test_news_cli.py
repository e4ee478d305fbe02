"""``rapport news add`` and ``rapport news list`` (issue #10): marketing writes product news
for the mid tier from the command line; bad input is refused with a clear one-line error and
changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app

runner = CliRunner()


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    return tmp_path


def news(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["news", *args])
    return result.exit_code, result.output


def test_news_is_added_per_language_and_listed_newest_first(shop: Path) -> None:
    body = shop / "autumn.txt"
    body.write_text("Oolong is back, and so is the <b>clay</b> teapot.\n", encoding="utf-8")
    code, out = news("add", "--title", "Autumn teas", "--body-file", str(body), "--locale", "en")
    assert code == 0 and "added: Autumn teas" in out
    (shop / "zh.txt").write_text("乌龙茶回来了。", encoding="utf-8")
    args = ("--title", "秋茶", "--body-file", str(shop / "zh.txt"), "--locale", "zh-Hans")
    assert news("add", *args)[0] == 0
    code, out = news("list", "--json")
    listed = json.loads(out)
    assert [(i["title"], i["locale"]) for i in listed] == [
        ("秋茶", "zh-Hans"),
        ("Autumn teas", "en"),
    ]
    assert listed[1]["body"] == "Oolong is back, and so is the <b>clay</b> teapot."


@pytest.mark.parametrize(
    ("content", "locale", "title", "expected"),
    [
        (b"fine", "fr", "Hi", "--locale 'fr' is not one of en, zh-Hans, zh-Hant"),
        (b"fine", "en", "   ", "--title must be 1 to 200 characters"),
        (b"line one\n\xff\xfe bad", "en", "Hi", "body.txt:2: not UTF-8 text"),
        (b"  \n ", "en", "Hi", "body.txt: is empty"),
        (b"x" * 1001, "en", "Hi", "body.txt: 1001 characters; at most 1000"),
        (b"ok\n\x00", "en", "Hi", "body.txt:2: contains a NUL byte"),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_is_stored(
    shop: Path, content: bytes, locale: str, title: str, expected: str
) -> None:
    body = shop / "body.txt"
    body.write_bytes(content)
    code, out = news("add", "--title", title, "--body-file", str(body), "--locale", locale)
    assert code == 2 and expected in out, out
    assert "Traceback" not in out
    assert news("list", "--json") == (0, "[]\n")


def test_a_missing_body_file_is_named(shop: Path) -> None:
    code, out = news("add", "--title", "Hi", "--body-file", "nope.txt", "--locale", "en")
    assert code == 2 and "nope.txt: cannot be read" in out
