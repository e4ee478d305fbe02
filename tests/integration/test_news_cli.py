"""``rapport news add`` and ``rapport news list`` (issue #10): marketing writes product news
for the mid tier from the command line; bad input is refused with a clear one-line error and
changes nothing; only marketing and admin may add news (``--by``, checked and audited)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.cli.common import load_settings
from bot.app.cli.records_common import database
from bot.core.roles import AuditEntry, Role

runner = CliRunner()


MARKETER = 7001


@pytest.fixture
def shop(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    enrolled = runner.invoke(app, ["staff", "add", str(MARKETER), "--role", "marketing"])
    assert enrolled.exit_code == 0, enrolled.output
    return tmp_path


def news(*args: str) -> tuple[int, str]:
    """``rapport news …``; ``add`` as the marketer unless the arguments name someone."""
    if args[:1] == ("add",) and "--by" not in args:
        args = (*args, "--by", str(MARKETER))
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


ROLES = [
    None,
    Role.AGENT,
    Role.MARKETING,
    Role.ADMIN,
]  # the table itself: tests/unit/test_roles.py


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "outsider")
def test_only_marketing_and_admin_add_news_and_every_attempt_is_audited(
    shop: Path, role: Role | None
) -> None:
    who = 7100
    if role is not None:
        assert runner.invoke(app, ["staff", "add", str(who), "--role", role.value]).exit_code == 0
    (shop / "body.txt").write_text("Oolong is back.", encoding="utf-8")
    args = ("--title", "Autumn", "--body-file", str(shop / "body.txt"), "--locale", "en")
    code, out = news("add", *args, "--by", str(who))
    listed = json.loads(news("list", "--json")[1])
    if role in (Role.MARKETING, Role.ADMIN):
        assert code == 0 and [i["title"] for i in listed] == ["Autumn"]
    else:
        assert code == 2 and listed == [], out
        who_is = f"is {role.value}" if role else "is not on the staff roster"
        assert f"--by {who} {who_is}; only marketing and admin may add news" in out
    trail = asyncio.run(_trail(who))
    assert [(a.action, a.allowed) for a in trail] == [("news", code == 0)]


async def _trail(user_id: int) -> list[AuditEntry]:
    async with database(load_settings()) as (_engine, factory), factory() as uow:
        return await uow.staff.audit_trail(user_id)
