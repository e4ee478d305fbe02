"""Messages stay within Telegram's 4,096 characters *after entity parsing* (issue #14): the
staff card shortens the customer's words and keeps its SLA lines; the generic safety cut of
``render_reply`` never splits a tag or an entity and measures the visible text.

Validity is checked with the emulator's Telegram-HTML parser (which refuses an unsupported,
unmatched or unclosed tag, as Telegram does) and the tag list of the template tests."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app.bootstrap import build_language
from bot.app.i18n import Renderer
from bot.app.policies import policies
from bot.app.settings import LOCALES, Settings
from bot.core.delivery import render_reply
from bot.core.html_text import (
    ELLIPSIS,
    TELEGRAM_TEXT_LIMIT,
    fit_html,
    shorten,
    utf16_len,
    visible_length,
)
from bot.core.messages import Reply
from bot.core.models import Customer
from bot.core.services.tickets import (
    STAFF_CARD_FRAME,
    STAFF_CARD_NAME_LIMIT,
    STAFF_CARD_QUOTE_LIMIT,
    STAFF_CARD_REASONS_LIMIT,
    staff_card,
)
from bot.core.tickets import Level, Ticket, TicketKind, TicketState
from bot.core.triage import Priority, Severity
from sandbox.formatting import parse_html
from tests.unit.test_templates import TELEGRAM_TAGS, telegram_tags

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FIRST_DUE = "2026-11-23 13:00"
RESOLUTION_DUE = "2026-11-26 17:00"
#: The "Why" line of the card in each locale.
WHY = {"en": "Why: ", "zh-Hans": "判定依据：", "zh-Hant": "判定依據："}
SETTINGS = Settings()


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return build_language(SETTINGS)[0]


def ticket(text: str, signals: Sequence[str] = ("broken", "refund")) -> Ticket:
    return Ticket(
        customer_id=1,
        chat_id=1,
        kind=TicketKind.COMPLAINT,
        severity=Severity.MAJOR,
        priority=Priority.URGENT,
        state=TicketState.ACKNOWLEDGED,
        level=Level.SUPERVISOR,
        text=text,
        created_at=T0,
        updated_at=T0,
        first_response_due_at=T0 + timedelta(hours=4),
        resolution_due_at=T0 + timedelta(days=3, hours=8),
        id=42,
        number="T-000042",
        order_ref="A" * 32,
        attachments=["photo"] * 10,
        negativity=0.93,
        signals=list(signals),
        contacts=99,
    )


def customer(name: str = "Alice Smith") -> Customer:
    return Customer(
        telegram_user_id=1, chat_id=1, display_name=name, first_name=name, created_at=T0,
        updated_at=T0, id=1,
    )  # fmt: skip


def card_text(renderer: Renderer, locale: str, text: str, **kwargs: Any) -> str:
    name = kwargs.pop("name", "Alice Smith")
    reply = staff_card(ticket(text, **kwargs), customer(name), policies(SETTINGS), None, -100)
    return render_reply(renderer, reply, locale, -100).text


def visible(markup: str) -> str:
    """What Telegram shows; raises as Telegram would refuse the message."""
    assert telegram_tags(markup) <= TELEGRAM_TAGS
    return parse_html(markup)[0]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("filler", ["The kettle leaked. ", "<b>&amp;</b> <>&\"' ", "😡 烧坏了 "])
def test_a_long_complaint_gives_a_card_that_fits_with_its_sla_lines(
    renderer: Renderer, locale: str, filler: str
) -> None:
    complaint = (filler * 4000)[:3900]
    markup = card_text(renderer, locale, complaint)
    shown = visible(markup)
    assert utf16_len(shown) <= TELEGRAM_TEXT_LIMIT
    assert WHY[locale] in shown
    last = shown.rstrip().splitlines()[-1]
    assert FIRST_DUE in last and RESOLUTION_DUE in last
    kept = shown.split(ELLIPSIS)[0]
    assert complaint[:100] in kept  # the customer's own words, shown as written
    omitted = shorten(complaint, STAFF_CARD_QUOTE_LIMIT)[1]
    assert omitted >= 900 and str(omitted) in shown and ELLIPSIS in shown


@pytest.mark.parametrize("locale", LOCALES)
def test_a_short_complaint_is_quoted_whole_without_a_note(renderer: Renderer, locale: str) -> None:
    shown = visible(card_text(renderer, locale, "The kettle <leaked> & hissed"))
    assert "The kettle <leaked> & hissed" in shown and ELLIPSIS not in shown


@pytest.mark.parametrize("locale", LOCALES)
def test_the_card_fits_even_when_every_field_is_at_its_worst(
    renderer: Renderer, locale: str
) -> None:
    markup = card_text(
        renderer, locale, "&" * 20_000, name="<Ann>" * 5_000, signals=["<&>"] * 5_000
    )
    shown = visible(markup)
    assert utf16_len(shown) <= TELEGRAM_TEXT_LIMIT
    assert WHY[locale] in shown and RESOLUTION_DUE in shown.splitlines()[-1]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_card_frame_is_within_its_named_budget(renderer: Renderer, locale: str) -> None:
    """Everything but the shortened fields, with the longest note, fits STAFF_CARD_FRAME; and
    the budgets add up to one Telegram message."""
    reply = staff_card(ticket(""), customer(""), policies(SETTINGS), None, -100)
    params = {**reply.params, "reasons": "", "text_omitted": 10**9}
    frame = visible(renderer.render("staff.ticket_card", locale, params))
    assert utf16_len(frame) <= STAFF_CARD_FRAME
    budgets = STAFF_CARD_FRAME + STAFF_CARD_QUOTE_LIMIT + STAFF_CARD_NAME_LIMIT
    assert budgets + STAFF_CARD_REASONS_LIMIT <= TELEGRAM_TEXT_LIMIT


# --- the generic safety cut ------------------------------------------------------------------


class OneTemplate:
    """A renderer of one fixed text, whatever the key."""

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def locales(self) -> Sequence[str]:
        return ("en",)

    def render(self, key: str, locale: str, params: Mapping[str, Any] | None = None) -> str:
        return self.text

    def has(self, key: str, locale: str) -> bool:
        return True


def test_render_reply_cuts_a_long_reply_with_balanced_tags() -> None:
    long = "<b>Dear customer</b>, <i>" + "tea &amp; <code>kettle</code> " * 400 + "</i> end"
    out = render_reply(OneTemplate(long), Reply("any.key"), "en", 1).text
    shown = visible(out)  # parses: every tag closed, none split
    assert utf16_len(shown) == TELEGRAM_TEXT_LIMIT and shown.endswith(ELLIPSIS)
    assert out.endswith(ELLIPSIS + "</i>") or out.endswith(ELLIPSIS + "</code></i>")
    assert shown[:-1] == html.unescape(parse_html(long)[0])[: len(shown) - 1]


def test_render_reply_measures_visible_text_not_markup() -> None:
    """4,000 visible characters written as 20,000 characters of markup are not cut."""
    markup = "<b>&lt;</b>" * 4000
    assert len(markup) > TELEGRAM_TEXT_LIMIT
    assert render_reply(OneTemplate(markup), Reply("k"), "en", 1).text == markup


def test_fit_html_counts_utf16_units_and_never_splits_an_entity() -> None:
    assert visible_length("😡&amp;<b>x</b>") == 4
    out = fit_html("ab&amp;cd", 3)
    assert out == "ab…" and visible(out) == "ab…"
    assert fit_html("a😡b", 2) == "a…"  # the emoji is two units: no half of it


_PIECES = st.one_of(
    st.text(alphabet="ab 😡中", min_size=1, max_size=6).map(html.escape),
    st.sampled_from(["&amp;", "&lt;", "&gt;", "&#128545;", "&quot;"]),
)


@st.composite
def telegram_html(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        if depth < 3 and draw(st.booleans()):
            tag = draw(st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler"]))
            inner = draw(telegram_html(depth + 1))
            parts.append(f"<{tag}>{inner}</{tag}>")
        elif depth < 3 and draw(st.integers(0, 9)) == 0:
            parts.append(f'<a href="https://example.com/?a=1&amp;b=2">{draw(_PIECES)}</a>')
        else:
            parts.append(draw(_PIECES))
    return "".join(parts)


@given(telegram_html(), st.integers(1, 40))
def test_fit_html_always_parses_fits_and_keeps_a_prefix(markup: str, limit: int) -> None:
    out = fit_html(markup, limit)
    shown, original = parse_html(out)[0], parse_html(markup)[0]
    assert utf16_len(shown) <= limit
    if utf16_len(original) <= limit:
        assert out == markup
    else:
        assert shown.endswith(ELLIPSIS) and original.startswith(shown[:-1])
