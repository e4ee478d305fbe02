"""``rapport campaign …`` on a real database: a file becomes a draft, is shown with its
audience, previewed per locale with its buttons, test-sent to a staff member, scheduled,
paused, resumed and reported (JSON and CSV); a wrong file is refused naming its line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.campaign_file import CampaignFileError, parse_campaign
from bot.app.cli import app
from bot.app.playbook_file import template_keys
from bot.app.settings import LOCALES
from bot.core.campaigns.model import Combine, ScheduleKind
from bot.core.roles import Role, StaffMember
from scripts_i18n import ROOT
from tests.campaign_shop import NOW, Person, Shop

runner = CliRunner()
KEYS = template_keys(ROOT, LOCALES)

FILE = """\
name: Spring teas
audience:
  any:
    - {tiers: [mid]}
    - {tags: [tea-lover]}
consent: true
message:
  en:
    text: "Hello {name}, the spring teas are here."
    buttons: [{label: Shop now, url: "https://shop.example/spring"}]
  zh-Hans: {file: spring.zh-Hans.txt}
coupon: {kind: percent, value: 10, valid_days: 14}
holdout: 10%
schedule: {at: "2026-12-24 10:00", timezone: Asia/Shanghai}
"""


def _write(folder: Path, text: str = FILE) -> Path:
    (folder / "spring.zh-Hans.txt").write_text("{name}，您好！春茶到了。\n", encoding="utf-8")
    path = folder / "spring.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_campaign_file_reads_into_a_spec(tmp_path: Path) -> None:
    path = _write(tmp_path)
    spec = parse_campaign(path.read_text(), str(path), KEYS, "en")
    assert spec.audience.combine is Combine.ANY and spec.audience.consent is True
    assert len(spec.audience.clauses) == 2
    assert spec.messages["zh-Hans"].text == "{name}，您好！春茶到了。"
    assert spec.messages["en"].buttons[0].url == "https://shop.example/spring"
    assert spec.coupon is not None and spec.coupon.value == 10
    assert spec.holdout == pytest.approx(0.1)
    assert spec.schedule.kind is ScheduleKind.AT
    assert (
        spec.schedule.at is not None
        and spec.schedule.at.isoformat() == "2026-12-24T02:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("holdout: 10%", "holdout: 70%", 13, "holdout"),
        ("{tiers: [mid]}", "{tiers: [gold]}", 4, "tier 'gold' is unknown"),
        (
            "zh-Hans: {file: spring.zh-Hans.txt}",
            "zh-Hans: {file: missing.txt}",
            11,
            "message.zh-Hans.file",
        ),
        ("Asia/Shanghai", "Mars/Olympus", 14, "schedule.timezone"),
        ('url: "https://shop.example/spring"', "url: shop.example", 10, "url"),
        ("kind: percent, value: 10", "kind: percent, value: 300", 12, "percentage"),
        ('{at: "2026-12-24 10:00", timezone: Asia/Shanghai}', '{cron: "0 99 * * *"}', 14, "hour"),
        ("name: Spring teas", "nme: Spring teas", 1, "unknown key 'nme'"),
    ],
)
def test_a_wrong_campaign_file_names_the_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in FILE
    path = _write(tmp_path, FILE.replace(old, new))
    with pytest.raises(CampaignFileError) as caught:
        parse_campaign(path.read_text(), str(path), KEYS, "en")
    issue = caught.value.issues[0]
    assert issue.line == line and words in issue.message, str(caught.value)


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Shop:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.delenv("RAPPORT_PLAYBOOK_FILE", raising=False)
    monkeypatch.delenv("RAPPORT_ENCRYPTION_KEY", raising=False)

    async def seed() -> Shop:
        shop = await Shop(database_url).open()
        await shop.add(Person("Mia"), Person("Lin", language="zh-Hans"), Person("Bo", tier="base"))
        async with shop.uow() as work:
            await work.staff.save(StaffMember(4242, "Mo", Role.MARKETING, NOW))
            await work.commit()
        await shop.close()
        return shop

    return asyncio.run(seed())


def _json(args: list[str]) -> object:
    result = runner.invoke(app, ["campaign", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_campaign_commands_from_draft_to_report(shop: Shop, tmp_path: Path) -> None:
    path = _write(tmp_path)
    created = _json(["create", "--file", str(path), "--by", "mo"])
    assert isinstance(created, dict) and created["state"] == "draft"
    cid = str(created["id"])
    shown = _json(["show", cid])
    assert isinstance(shown, dict)
    assert shown["audience_now"]["total"] == 2
    assert shown["audience_now"]["by_locale"] == {"en": 1, "zh-Hans": 1}
    previews = _json(["preview", cid])
    assert isinstance(previews, list) and [p["locale"] for p in previews] == list(LOCALES)
    en = previews[0]
    assert en["text"].startswith("Hello Mia, the spring teas are here.\n\nYour offer: 10 % off")
    assert en["buttons"][0] == [{"text": "Shop now", "url": "https://shop.example/spring"}]
    assert en["buttons"][1][0]["data"] == "optout:marketing"
    test = _json(["test", cid, "--to", "4242"])
    assert isinstance(test, dict) and len(test["outbox_rows"]) == 2
    refused = runner.invoke(app, ["campaign", "test", cid, "--to", "99"])
    assert refused.exit_code == 2 and "--to: 99 is not an active staff member" in refused.output
    scheduled = _json(["schedule", cid])
    assert isinstance(scheduled, dict) and scheduled["next_run_at"] == "2026-12-24T02:00:00+00:00"
    assert _json(["pause", cid])["state"] == "paused"  # type: ignore[index]
    assert _json(["resume", cid])["state"] == "scheduled"  # type: ignore[index]
    listed = _json(["list"])
    assert isinstance(listed, list) and listed[0]["id"] == created["id"]
    report = _json(["report", cid])
    assert isinstance(report, dict) and report["audience"] == 0 and report["adds_up"] is True
    csv_out = runner.invoke(app, ["campaign", "report", cid, "--csv"])
    assert csv_out.exit_code == 0 and csv_out.output.startswith("metric,value\naudience,0\n")
    missing = runner.invoke(app, ["campaign", "show", "999"])
    assert missing.exit_code == 2 and "there is no campaign 999" in missing.output
    bad = _write(tmp_path, FILE.replace("holdout: 10%", "holdout: 70%"))
    wrong = runner.invoke(app, ["campaign", "create", "--file", str(bad)])
    assert wrong.exit_code == 2 and f"{bad}:13: holdout" in wrong.output
