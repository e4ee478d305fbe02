"""The playbook file: the shipped default implements SPEC §8, and every mistake in a file is
named with its line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.playbook_file import (
    DEFAULT_PLAYBOOK,
    PlaybookError,
    load_playbook,
    parse_playbook,
    template_keys,
)
from bot.app.settings import LOCALES
from bot.core.engagement.playbook import (
    CadenceKind,
    Condition,
    CouponKind,
    RuleAction,
    RuleKind,
    TriggerKind,
)
from bot.core.staff_tasks import TaskKind
from bot.core.tiers import Lifecycle, Tier
from scripts_i18n import ROOT

runner = CliRunner()
KEYS = template_keys(ROOT, LOCALES)


def parse(text: str) -> list[str]:
    """The problems found in `text`, as ``line: message`` strings (none: valid)."""
    try:
        parse_playbook(text, "pb.yaml", KEYS)
    except PlaybookError as exc:
        return [f"{i.line}: {i.message}" for i in exc.issues]
    return []


def test_the_shipped_playbook_implements_every_line_of_spec_8() -> None:
    book = load_playbook(DEFAULT_PLAYBOOK, KEYS)
    rules = book.by_id
    assert rules["high-checkin"].cadence is not None
    assert rules["high-checkin"].cadence.kind is CadenceKind.MONTHLY
    assert rules["high-checkin"].audience.tiers == {Tier.HIGH}
    assert rules["high-checkin"].action is RuleAction.ADVISOR_TASK  # the advisor's task
    unhappy = rules["win-back"].variants[0]
    assert (unhappy.when, unhappy.task) == (Condition.UNHAPPY_WITH_SERVICE, TaskKind.CALLBACK)
    assert rules["high-member-event"].cadence.kind is CadenceKind.QUARTERLY  # type: ignore[union-attr]
    mid_news = rules["mid-news"].cadence
    assert mid_news is not None and (mid_news.kind, mid_news.every) == (CadenceKind.EVERY_WEEKS, 2)
    base = rules["base-coupon"]
    assert base.variants[0].coupon is not None and base.audience.tiers == {Tier.BASE}
    welcome = rules["prospect-welcome"]
    assert welcome.cadence is not None and welcome.cadence.kind is CadenceKind.ONCE
    assert welcome.variants[0].coupon is not None
    assert (welcome.variants[0].coupon.kind, welcome.variants[0].coupon.value) == (
        CouponKind.PERCENT,
        20,
    )
    onboarding = rules["new-onboarding"].trigger
    assert onboarding is not None and onboarding.on is TriggerKind.FIRST_ORDER
    assert onboarding.after == timedelta(days=7)
    reminder = rules["payment-reminder"]
    assert reminder.kind is RuleKind.SERVICE and reminder.trigger is not None
    assert (reminder.trigger.on, reminder.trigger.after, reminder.trigger.until) == (
        TriggerKind.ORDER_UNPAID,
        timedelta(hours=1),
        timedelta(hours=24),
    )
    revisit = rules["delivered-revisit"].trigger
    assert revisit is not None and revisit.on is TriggerKind.ORDER_DELIVERED
    assert revisit.after == timedelta(days=7)
    winback = rules["win-back"]
    assert winback.min_interval_days == 90
    assert Lifecycle.DORMANT in winback.audience.stages
    assert [v.when for v in winback.variants] == [
        Condition.UNHAPPY_WITH_SERVICE,
        Condition.PRICE_SENSITIVE,
        Condition.DEFAULT,
    ]
    assert all(v.coupon is not None for v in winback.variants)
    birthday = rules["birthday"]
    assert birthday.cadence is not None and birthday.cadence.kind is CadenceKind.BIRTHDAY
    assert birthday.variants[0].coupon is not None
    surveys = {r: rules[r].cadence.kind for r in ("survey-high", "survey-mid", "survey-base")}  # type: ignore[union-attr]
    assert surveys == {
        "survey-high": CadenceKind.QUARTERLY,
        "survey-mid": CadenceKind.HALF_YEARLY,
        "survey-base": CadenceKind.YEARLY,
    }
    # every template of every rule exists in every locale
    for rule in book.rules:
        for variant in rule.variants:
            assert set(variant.templates) == set(LOCALES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - id: a\n    kind: marketing\n    audience: {tiers: [gold]}\n"
            "    cadence: monthly\n    template: engage.birthday\n",
            "4: tier 'gold' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    audience: {stages: [sleepy]}\n"
            "    cadence: monthly\n    template: engage.birthday\n",
            "4: lifecycle stage 'sleepy' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    audience:\n      segments: [vip]\n"
            "    cadence: monthly\n    template: engage.birthday\n",
            "5: RF segment 'vip' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: {every_fortnight: 1}\n"
            "    template: engage.birthday\n",
            "4: the cadence has an unknown key 'every_fortnight'",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: {monthly: 32}\n"
            "    template: engage.birthday\n",
            "4: the day of the month must be from 1 to 31",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: every_days\n"
            "    template: engage.birthday\n",
            "4: cadence 'every_days' needs a number",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: weekly\n"
            "    template: engage.birthday\n",
            "4: cadence 'weekly' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.no_such_key\n",
            "5: template 'engage.no_such_key' is not defined in locale(s) en, zh-Hans, zh-Hant",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.birthday\n    colour: red\n",
            "6: rule 1 has an unknown key 'colour'",
        ),
        (
            "rules:\n  - id: a\n    kind: service\n    trigger: {event: order_lost}\n"
            "    template: engage.birthday\n",
            "4: trigger event 'order_lost' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: service\n"
            "    trigger: {event: order_unpaid, after: soon}\n"
            "    template: engage.birthday\n",
            "4: after must be a duration such as 30m, 1h or 7d",
        ),
        (
            "rules:\n  - id: a\n    kind: service\n"
            "    trigger: {event: order_unpaid, after: 2h, until: 1h}\n"
            "    template: engage.birthday\n",
            "4: until must be later than after",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.birthday\n    coupon: {kind: percent, value: 120}\n",
            "6: a percentage must be from 1 to 100, not 120",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.birthday\n    coupon: {kind: fixed, value: 9.999}\n",
            "6: the amount must be a positive amount with at most two decimals",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    trigger: {event: tier_changed}\n    template: engage.birthday\n",
            "2: rule 'a' needs either a cadence or a trigger",
        ),
        (
            "rules:\n  - id: a\n    kind: friendly\n    cadence: yearly\n"
            "    template: engage.birthday\n",
            "3: rule kind 'friendly' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n    variants:\n"
            "      - when: price_sensitive\n        template: engage.birthday\n",
            "6: the last variant must be `when: default`",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.birthday\n"
            "  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.birthday\n",
            "6: rule id 'a' is already used on line 2",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    template: {en: engage.birthday}\n",
            "5: the template of rule 'a' names no key for zh-Hans, zh-Hant",
        ),
        (
            "rules:\n  - id: A b\n    kind: marketing\n    cadence: yearly\n"
            "    template: engage.birthday\n",
            "2: rule id 'A b' must be lower-case letters",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    action: phone_them\n    template: engage.birthday\n",
            "5: action 'phone_them' is unknown",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
            "    action: advisor_task\n    template: engage.birthday\n"
            "    coupon: {kind: percent, value: 10}\n",
            "5: rule 'a' opens an advisor task; it cannot issue a coupon",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n    variants:\n"
            "      - when: default\n        template: engage.birthday\n"
            "        task: advisor_checkin\n",
            "8: a variant's task must be one of: callback",
        ),
        (
            "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n    variants:\n"
            "      - when: default\n        template: engage.birthday\n"
            "        task: ring\n",
            "8: task 'ring' is unknown",
        ),
        ("rules: [\n", "2: this is not valid YAML"),
        ("", "1: the file is empty"),
    ],
)
def test_each_mistake_is_named_with_its_line(text: str, expected: str) -> None:
    problems = parse(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_locale_missing_a_template_is_named() -> None:
    keys = {locale: set(found) for locale, found in KEYS.items()}
    keys["zh-Hant"].discard("engage.birthday")
    text = "rules:\n  - id: a\n    kind: marketing\n    cadence: yearly\n"
    text += "    template: engage.birthday\n"
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, "pb.yaml", keys)
    assert str(caught.value) == (
        "pb.yaml:5: template 'engage.birthday' is not defined in locale(s) zh-Hant."
    )


def test_every_broken_rule_is_reported_not_only_the_first() -> None:
    text = (
        "rules:\n"
        "  - id: a\n    kind: marketing\n    cadence: weekly\n    template: engage.birthday\n"
        "  - id: b\n    kind: marketing\n    cadence: yearly\n    template: engage.birthday\n"
        "  - id: c\n    kind: marketing\n    cadence: yearly\n    template: engage.nope\n"
    )
    assert [p.split(":")[0] for p in parse(text)] == ["4", "13"]


def test_a_valid_rule_with_per_locale_templates_and_audience() -> None:
    text = (
        "rules:\n  - id: vip\n    kind: marketing\n"
        "    audience: {tiers: [high], tags: [young-parent], languages: [zh-Hant],"
        " has_advisor: true}\n"
        "    cadence: {every_days: 10}\n"
        "    template: {en: engage.birthday, zh-Hans: engage.birthday,"
        " zh-Hant: engage.survey.invite}\n"
        "    coupon: {kind: free_shipping, min_spend: 50, valid_days: 7}\n"
    )
    book = parse_playbook(text, "pb.yaml", KEYS)
    (rule,) = book.rules
    assert rule.audience.has_advisor is True and rule.audience.tags == {"young-parent"}
    assert rule.variants[0].templates["zh-Hant"] == "engage.survey.invite"
    coupon = rule.variants[0].coupon
    assert coupon is not None and (coupon.kind, coupon.min_spend_cents) == (
        CouponKind.FREE_SHIPPING,
        5000,
    )
    assert rule.line == 2


def test_check_exits_0_for_the_shipped_playbook() -> None:
    result = runner.invoke(app, ["playbook", "check", str(DEFAULT_PLAYBOOK)])
    assert result.exit_code == 0, result.output
    assert "13 rules, valid" in result.output


def test_check_exits_1_with_file_line_message(tmp_path: Path) -> None:
    bad = tmp_path / "playbook.yaml"
    bad.write_text(
        "rules:\n  - id: a\n    kind: marketing\n    cadence: weekly\n"
        "    template: engage.birthday\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["playbook", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:4: cadence 'weekly' is unknown")


def test_check_of_a_missing_file_exits_1_naming_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["playbook", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "nope.yaml:1: cannot read the file" in result.output


def test_run_refuses_a_broken_playbook_before_opening_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "playbook.yaml"
    bad.write_text("rules:\n  - id: a\n    kind: sometimes\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_PLAYBOOK_FILE", str(bad))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'no.db'}")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert f"{bad}:3: rule kind 'sometimes' is unknown" in result.output
    assert not (tmp_path / "no.db").exists()
