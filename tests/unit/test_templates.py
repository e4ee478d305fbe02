"""The shipped templates: complete in every locale, renderable, escaped, and courteous."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app.bootstrap import build_language
from bot.app.i18n import (
    SCRIPTS_DIR,
    Renderer,
    TemplateFileError,
    load_message_folder,
    load_messages,
)
from bot.app.settings import LOCALES, Settings

SAMPLE: dict[str, Any] = {
    "name": "Alice",
    "command": "frobnicate",
    "reason": "faq_miss",
    "request_id": 42,
    "due_local": "2026-11-22 11:00",
    "zone": "Europe/London",
    "within_key": "handoff.within.hours",
    "within_count": 2,
    "count": 2,
    "summary": "broken <kettle>",
    "category_key": "complaint.category.damaged",
    "order_ref": "10234",
    "number": "T-000042",
    "severity": "quality",
    "priority": "normal",
    "raised": True,
    "tickets": [
        {
            "number": "T-000042",
            "summary": "broken kettle",
            "state": "investigating",
            "created": "2026-11-20",
        }
    ],
    "note": "We are sending a replacement.",
    "state": "resolved",
    "customer": "Alice Smith",
    "tier": "high",
    "photos": 2,
    "text": "the kettle arrived broken",
    "text_omitted": 1200,
    "reasons": "broken, refund",
    "negativity": "0.72",
    "first_due": "2026-11-22 11:00",
    "resolution_due": "2026-11-23 09:00",
    "level": "supervisor",
    "contacts": 2,
    "target": "first_response",
    "due": "2026-11-22 11:00",
    "percent": 80,
    "score": 2,
    "low": True,
    "answer": "ok",
    "agent": "Sam",
    "reachability": "blocked",
    "advisor": "Sam",
    "away": False,
    "colleague": "Kim Park",
    "user_id": 9002,
    "chat": -1001234567890,
    "problem": "blocked",
    "offer": "20 % off, valid for 30 days",
    "order": "A-1001",
    "news": [{"title": "New autumn collection", "body": "Oolong is back."}],
    "value": 20,
    "min_spend": "50.00",
    "valid_days": 30,
    "code": "K7QM-3XHP",
    "until": "2026-12-31",
    "offers": ["20 % off with the code K7QM-3XHP, valid through 2026-12-31"],
    "balance": 620,
    "member_level": "Silver",
    "next_level": "Gold",
    "to_next": 1380,
    "window_days": 365,
    "cost": 500,
    "points": 500,
    "kind": "advisor_checkin",
    "stage": "active",
    "orders": [{"ref": "A-1001", "day": "2026-11-02", "amount": "120.00 CNY", "status": "paid"}],
    "rating": {"score": 4, "day": "2026-11-20"},
    "choice": "send",
    "by": "Sam",
    "at": "2026-12-01 10:00 UTC",
    "held_until": "2026-12-01 09:00 UTC",
    "refusal": "no_consent",
    "minutes": 60,
    # the /campaign wizard and /campaigns
    "steps": 7,
    "size": 120,
    "held": 12,
    "tiers": "mid, high",
    "stages": "",
    "languages": "en",
    "consent": True,
    "asking": "zh-Hans",
    "default_locale": "en",
    "label_key": "campaign_wizard.tier.mid",
    "on": True,
    "id": 3,
    "when": "2026-12-24 02:00 UTC",
    "coupon": {"kind": "fixed", "value": 1000},
    "holdout": 10,
    "currency": "CNY",
    "sample": "Mia",
    "lang": "zh-Hant",
    "label": "Shop now",
    "lines": [
        {
            "id": 3,
            "name": "Spring teas",
            "state": "running",
            "sent": 40,
            "audience": 120,
            "next": None,
        },
    ],
    "audience": 120,
    "sent": 100,
    "failed": 1,
    "blocked": 2,
    "no_consent": 3,
    "cap": 1,
    "unworded": 0,
    "cancelled": 0,
    "waiting": 1,
    "adds_up": True,
    "issued": 100,
    "redeemed": 7,
    "now_state": "paused",
    "typed": "tomorrow 10am",
    "limit": 2048,
    "length": 2100,
    "first": True,
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return build_language(Settings())[0]


def sample_params(renderer: Renderer) -> dict[str, Any]:
    faq_id = sorted(
        k for k in renderer.keys("en") if k.startswith("faq.") and k.endswith(".answer")
    )[0].split(".")[1]
    return {**SAMPLE, "faq_id": faq_id}


def test_every_locale_has_exactly_the_english_keys(renderer: Renderer) -> None:
    english = renderer.keys("en")
    for locale in LOCALES:
        assert renderer.keys(locale) == english, locale


@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_renders_with_sample_data(renderer: Renderer, locale: str) -> None:
    params = sample_params(renderer)
    for key in sorted(renderer.keys(locale)):
        text = renderer.render(key, locale, params)
        assert text.strip(), f"{locale}/{key} renders empty"
        assert "{{" not in text and "{%" not in text, f"{locale}/{key}"


def test_customer_words_are_escaped_but_template_markup_is_kept(renderer: Renderer) -> None:
    text = renderer.render("help.text", "en", {"name": "<b>Eve</b> & co"})
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in text
    faq = renderer.render("faq.reply", "en", sample_params(renderer))
    assert faq.startswith("<b>")


def test_a_missing_parameter_is_an_error_not_an_empty_string(renderer: Renderer) -> None:
    with pytest.raises(Exception, match="name"):
        renderer.render("help.text", "en", {})


def test_handoff_promise_names_request_and_time(renderer: Renderer) -> None:
    text = renderer.render("handoff.promised", "en", sample_params(renderer))
    assert "#42" in text and "2026-11-22 11:00" in text and "2 hours" in text
    text = renderer.render("handoff.promised", "zh-Hant", sample_params(renderer))
    assert "#42" in text and "2 小時" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_courtesy_lint_no_forbidden_phrase_in_any_template(
    renderer: Renderer, locale: str
) -> None:
    forbidden = yaml.safe_load((SCRIPTS_DIR / locale / "courtesy.yaml").read_text("utf-8"))
    phrases = [p.casefold() for p in forbidden["forbidden"]]
    assert phrases, f"{locale} has no courtesy list"
    params = sample_params(renderer)
    for key in renderer.keys(locale):
        for reason in ("faq_miss", "faq_rejected", "attachment"):
            text = renderer.render(key, locale, {**params, "reason": reason}).casefold()
            hits = [p for p in phrases if p in text]
            assert not hits, f"{locale}/{key} says {hits}"


def test_the_courtesy_lint_catches_a_rude_template(tmp_path: Path) -> None:
    rude = Renderer({"en": {"x": "Sorry, I don't know."}})
    phrases = yaml.safe_load((SCRIPTS_DIR / "en" / "courtesy.yaml").read_text("utf-8"))
    text = rude.render("x", "en").casefold()
    assert any(p.casefold() in text for p in phrases["forbidden"])


def test_renderers_sharing_compiled_code_keep_their_own_globals_and_errors() -> None:
    """The compiled code of a template is kept per process (:mod:`bot.app.i18n`); each
    renderer still sees its own globals, and a broken template fails every build."""
    source = "Welcome to {{ business_name }}, {{ name }}."
    shop = Renderer({"en": {"hi": source}}, {"business_name": "Teapot & Co."})
    other = Renderer({"en": {"hi": source}}, {"business_name": "Kettles"})
    assert shop.render("hi", "en", {"name": "<b>"}) == "Welcome to Teapot &amp; Co., &lt;b&gt;."
    assert other.render("hi", "en", {"name": "Al"}) == "Welcome to Kettles, Al."
    for _ in range(2):
        with pytest.raises(TemplateFileError, match="en/broken"):
            Renderer({"en": {"broken": "{% if %}"}})


def test_a_malformed_messages_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "messages.yaml"
    bad.write_text("greeting: [1, 2\n", encoding="utf-8")
    with pytest.raises(TemplateFileError, match=r"messages\.yaml"):
        load_messages(bad)
    bad.write_text("greeting:\n  hello: 3\n", encoding="utf-8")
    with pytest.raises(TemplateFileError, match=r"greeting\.hello"):
        load_messages(bad)


def test_a_bare_yes_key_is_reported_not_silently_lost(tmp_path: Path) -> None:
    bad = tmp_path / "messages.yaml"
    bad.write_text("common:\n  yes: Yes\n", encoding="utf-8")
    with pytest.raises(TemplateFileError, match="quote it"):
        load_messages(bad)


def test_a_key_defined_in_two_message_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("greeting: Hi\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("greeting: Hello\n", encoding="utf-8")
    with pytest.raises(TemplateFileError, match="already defined"):
        load_message_folder(tmp_path)


def test_every_locale_has_the_same_message_files() -> None:
    english = sorted(p.name for p in (SCRIPTS_DIR / "en" / "messages").glob("*.yaml"))
    for locale in LOCALES:
        files = sorted(p.name for p in (SCRIPTS_DIR / locale / "messages").glob("*.yaml"))
        assert files == english, locale


TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)


def telegram_tags(markup: str) -> set[str]:
    """The tags in `markup` (to compare with :data:`TELEGRAM_TAGS`)."""

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found.add(tag)

    parser = Tags()
    parser.feed(markup)
    return parser.found


@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_is_html_telegram_accepts(renderer: Renderer, locale: str) -> None:
    """Telegram's HTML parse mode knows only a few tags; a stray "<" (a placeholder such as
    "<user id>") makes it refuse the whole message."""
    params = sample_params(renderer)
    for key in sorted(renderer.keys(locale)):
        found = telegram_tags(renderer.render(key, locale, params))
        assert found <= TELEGRAM_TAGS, f"{locale}/{key}: {found - TELEGRAM_TAGS}"


BLOCK_TAG_ONLY = re.compile(r"\{%[^%]*%\}")


def glued_lines(path: Path, root: Path = SCRIPTS_DIR) -> list[str]:
    """Lines of a messages file whose newline the renderer drops by mistake: the renderer trims
    the newline after a block tag (``trim_blocks``), so a line of text that ends with a tag such
    as ``{% endif %}`` runs into the next line of the same template. A line meant to end there
    ends its tag with ``+%}``; a line holding only a tag (a loop's ``{% for … %}``) is meant to
    vanish."""
    lines = path.read_text("utf-8").split("\n")
    found = []
    for number, (line, following) in enumerate(itertools.pairwise(lines), start=1):
        text, after = line.strip(), following.strip()
        indent, next_indent = (
            len(line) - len(line.lstrip()),
            len(following) - len(following.lstrip()),
        )
        if (
            text.endswith("%}")
            and not text.endswith("+%}")
            and not BLOCK_TAG_ONLY.fullmatch(text)
            and after
            and next_indent >= indent  # the same template goes on (not the next YAML key)
            and not BLOCK_TAG_ONLY.fullmatch(after)
        ):
            found.append(f"{path.relative_to(root)}:{number}: {text[-40:]}")
    return found


def test_no_template_line_runs_into_the_next() -> None:
    files = sorted(SCRIPTS_DIR.glob("*/messages/*.yaml"))
    assert files
    assert [line for path in files for line in glued_lines(path)] == []


def test_the_glued_line_check_catches_a_tag_at_the_end_of_a_line(
    tmp_path: Path, renderer: Renderer
) -> None:
    bad = tmp_path / "en" / "messages" / "x.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("x:\n  a: |\n    One.{% if b %} Two.{% endif %}\n    Three.\n  b: c\n")
    assert glued_lines(bad, tmp_path) == ["en/messages/x.yaml:3: One.{% if b %} Two.{% endif %}"]
    # and what it guards: the points message keeps its sentences on their own lines
    params = {**sample_params(renderer), "next_level": "Silver", "balance": 10, "cost": 500}
    text = renderer.render("loyalty.points", "en", params)
    assert "Silver.\nWith 500 points" in text
