"""Complaint triage (SPEC §5): the rules, the lexicon loader, and accuracy on a labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.triage_eval import evaluate, format_evaluation, load_cases
from benchmarks.understanding_eval import NAMED_FALSE_ALARMS
from bot.app.settings import LOCALES, Settings
from bot.app.triage_data import DEFAULT_ROOT, TriageFileError, load_lexicon, load_lexicons
from bot.core.tiers import Tier
from bot.core.triage import (
    Kind,
    Lexicon,
    Priority,
    Severity,
    Signal,
    Term,
    Triage,
    detect_locale,
    priority,
)


@pytest.fixture(scope="module")
def triage() -> Triage:
    settings = Settings()
    return Triage(
        load_lexicons(DEFAULT_ROOT, LOCALES),
        complaint_negativity=settings.triage_complaint_negativity,
    )


# --- the examples ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale", "summary"),
    [
        ("the kettle arrived broken, I want a refund", "en", "broken kettle"),
        ("收到的水壶是坏的，我要退款", "zh-Hans", "水壶坏了"),
        ("水壺壞了，要求退貨", "zh-Hant", "水壺壞了"),
    ],
)
def test_the_three_examples_are_quality_complaints_in_their_locale(
    triage: Triage, text: str, locale: str, summary: str
) -> None:
    decision = triage.classify(text)
    assert decision.kind is Kind.COMPLAINT
    assert decision.severity is Severity.QUALITY
    assert decision.locale == locale
    assert decision.category == "damaged"
    assert decision.summary == summary
    assert any(s.kind in ("keyword", "phrase") for s in decision.signals)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("The kettle burned my hand", "safety"),
        ("水壶烫伤了我的手", "safety"),
        ("充電器起火了", "safety"),
        ("my son had an allergic reaction", "safety"),
        ("I'm calling my lawyer and I will sue you", "legal"),
        ("我要去法院起诉你们", "legal"),
        ("再不处理我就打12315", "regulator"),
        ("我要去消保會申訴", "regulator"),
        ("I'll go to the consumer association", "regulator"),
        ("I will post it online for everyone to see", "media"),
        ("我要发到网上曝光你们", "media"),
        ("我要發到網上", "media"),
        ("this shop is a scam", "fraud"),
        ("你们就是骗子", "fraud"),
        ("你們是詐騙集團", "fraud"),
        ("my data was leaked", "privacy"),
        ("我的信息泄露了", "privacy"),
        ("我的個資外洩了", "privacy"),
        ("fuck off you idiots", "abuse"),
        ("this is the third time I write about this", "repeat"),
    ],
)
def test_major_examples(triage: Triage, text: str, category: str) -> None:
    decision = triage.classify(text)
    assert (decision.kind, decision.severity, decision.category) == (
        Kind.COMPLAINT,
        Severity.MAJOR,
        category,
    )


def test_a_threat_counts_even_when_conditional(triage: Triage) -> None:
    assert triage.classify("if you don't refund me I will sue").severity is Severity.MAJOR


def test_a_gap_in_a_phrase_never_skips_a_negation(triage: Triage) -> None:
    assert triage.classify("质量这么差").severity is Severity.QUALITY
    assert triage.classify("质量一点都不差").severity is None


@pytest.mark.parametrize(
    "text",
    [
        "not broken",
        "nothing is damaged",
        "it isn't defective",
        "it's not faulty at all",
        "没有问题",
        "没坏",
        "都没坏",
        "沒有壞",
        "不是质量问题",
    ],
)
def test_negated_terms_do_not_count_and_are_recorded(triage: Triage, text: str) -> None:
    decision = triage.classify(text)
    assert decision.kind is Kind.ENQUIRY, decision
    assert decision.severity is None
    assert any(s.kind == "negated" for s in decision.signals)


@pytest.mark.parametrize(
    "text",
    ["用了没几天就坏了", "I can't believe it's broken already", "不小心摔坏了"],
)
def test_words_that_only_look_like_negation(triage: Triage, text: str) -> None:
    assert triage.classify(text).severity is Severity.QUALITY


@pytest.mark.parametrize(
    "text",
    [
        "what is your refund policy?",
        "退款要多久",
        "退貨流程是怎樣的？",
        "怎么申请退货",
        "how do i request a refund",
        "what if my kettle arrives broken?",
        "如果收到的时候坏了怎么办",
    ],
)
def test_policy_questions_and_hypotheticals_are_enquiries(triage: Triage, text: str) -> None:
    decision = triage.classify(text)
    assert decision.kind is Kind.ENQUIRY
    assert decision.severity is None


def test_a_question_that_reports_a_broken_item_is_a_complaint(triage: Triage) -> None:
    decision = triage.classify("how do I return it? the blender I got is faulty")
    assert decision.severity is Severity.QUALITY


def test_delivery_worries_are_general(triage: Triage) -> None:
    decision = triage.classify("my parcel is late, a bit annoyed")
    assert (decision.kind, decision.severity, decision.category) == (
        Kind.COMPLAINT,
        Severity.GENERAL,
        "delivery",
    )


def test_strong_negativity_alone_raises_a_general_complaint(triage: Triage) -> None:
    decision = triage.classify("This is absolutely terrible, I am furious and disgusted!!!")
    assert decision.negativity >= 0.7
    assert (decision.kind, decision.severity) == (Kind.COMPLAINT, Severity.GENERAL)
    assert any(s.kind == "early_warning" for s in decision.signals)


def test_negativity_is_graded_and_flipped_by_negation(triage: Triage) -> None:
    calm = triage.classify("thanks, everything is fine").negativity
    mild = triage.classify("a bit annoyed").negativity
    strong = triage.classify("very angry and very disappointed").negativity
    assert calm == 0.0 < mild < strong <= 1.0
    assert triage.classify("not happy").negativity > 0
    assert triage.classify("非常失望，太差了").negativity > triage.classify("有点失望").negativity


def test_typos_in_longer_words_are_read(triage: Triage) -> None:
    assert triage.classify("my kettle is brokn").severity is Severity.QUALITY
    assert triage.classify("the screen is defectve").severity is Severity.QUALITY
    # a real word one letter away is left alone
    assert triage.classify("my order is tracked").severity is None


def test_digits_in_order_numbers_are_not_hotlines(triage: Triage) -> None:
    assert triage.classify("订单号12315678什么时候发货").severity is None
    assert triage.classify("my usb cable").severity is None


def test_every_decision_keeps_its_reasons(triage: Triage) -> None:
    decision = triage.classify("the kettle arrived broken, I want a refund")
    kinds = [s.kind for s in decision.signals]
    assert "negativity" in kinds
    terms = {s.term for s in decision.signals}
    assert "arrived broken" in terms and "i want a refund" in terms


# --- locale -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("hello", "en"),
        ("", "en"),
        ("12345", "en"),
        ("你好", "zh-Hans"),
        ("收到的水壶是坏的", "zh-Hans"),
        ("水壺壞了", "zh-Hant"),
        ("台灣的朋友", "zh-Hant"),
        ("iPhone坏了", "zh-Hans"),
        ("I bought a 水壶 and it broke on the first day", "en"),
    ],
)
def test_detect_locale(text: str, locale: str) -> None:
    assert detect_locale(text) == locale


# --- severity and priority ---------------------------------------------------------------------
# (A third contact raising severity one step is the ticket's rule, not the message's: see
# tests/unit/test_complaints.py and bot.core.tickets.raise_severity in tests/unit/test_tickets.py.)


def test_severity_is_ordered_by_rank_not_alphabet() -> None:
    assert Severity.GENERAL < Severity.QUALITY < Severity.MAJOR
    assert max(Severity.MAJOR, Severity.QUALITY) is Severity.MAJOR
    assert sorted([Severity.MAJOR, Severity.GENERAL, Severity.QUALITY]) == [
        Severity.GENERAL,
        Severity.QUALITY,
        Severity.MAJOR,
    ]


@pytest.mark.parametrize(
    ("severity", "tier", "expected"),
    [
        (None, None, Priority.LOW),
        (None, "high", Priority.NORMAL),
        (Severity.GENERAL, "base", Priority.NORMAL),
        (Severity.GENERAL, "high", Priority.HIGH),
        (Severity.QUALITY, "mid", Priority.NORMAL),
        (Severity.QUALITY, "high", Priority.HIGH),
        (Severity.MAJOR, None, Priority.URGENT),
        (Severity.MAJOR, "high", Priority.URGENT),
        (Severity.GENERAL, Tier.HIGH, Priority.HIGH),  # the enum and its stored text alike
        (Severity.QUALITY, Tier.BASE, Priority.NORMAL),
    ],
)
def test_priority_table(severity: Severity | None, tier: str | None, expected: Priority) -> None:
    assert priority(severity, tier) is expected


# --- JSON ------------------------------------------------------------------------------------


def test_json_shape(triage: Triage) -> None:
    data = triage.classify("收到的水壶是坏的，我要退款").to_json()
    assert {"kind", "severity", "negativity", "locale", "signals"} <= data.keys()
    assert data["kind"] == "complaint" and data["severity"] == "quality"
    assert isinstance(data["negativity"], float) and 0 <= data["negativity"] <= 1
    assert isinstance(data["signals"], list)
    assert all({"kind", "term", "detail"} == s.keys() for s in data["signals"])
    json.dumps(data, ensure_ascii=False)
    enquiry = triage.classify("do you ship to France?").to_json()
    assert enquiry["severity"] is None and enquiry["kind"] == "enquiry"


# --- lexicon loader -----------------------------------------------------------------------------

_GOOD = """\
terms:
  - category: damaged
    severity: quality
    label: broken
    match: [broken, "arrived ... broken"]
negation:
  cues: [not, "no"]
  scope: 2
sentiment:
  negative: {awful: 2}
  positive: {great: 1}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_small_lexicon_loads_and_works(tmp_path: Path) -> None:
    lexicon = load_lexicon(_write(tmp_path, _GOOD), "en")
    assert lexicon.terms[0] == Term("broken", "damaged", Severity.QUALITY, False, "broken")
    engine = Triage({"en": lexicon})
    assert engine.classify("it arrived totally broken").severity is Severity.QUALITY
    assert engine.classify("not broken").severity is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (_GOOD.replace("severity: quality", "severity: severe"), 3, "unknown severity"),
        (_GOOD.replace("match: [broken,", "match: [yes,"), 5, "must be text"),
        (_GOOD.replace("scope: 2", "scope: -1"), 8, "negation.scope"),
        (_GOOD.replace("awful: 2", "awful: lots"), 10, "must be a number"),
        (_GOOD.replace("label: broken", "lable: broken"), 4, "unknown key 'lable'"),
        (_GOOD.replace('"arrived ... broken"', "broken"), 5, "already listed"),
        (_GOOD + "  - [unclosed\n", 12, "invalid YAML"),
    ],
)
def test_a_bad_lexicon_names_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TriageFileError) as info:
        load_lexicon(path, "en")
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_a_missing_lexicon_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TriageFileError, match="nowhere"):
        load_lexicons(tmp_path / "nowhere", ["en"])


def test_the_shipped_lexicons_load() -> None:
    lexicons = load_lexicons(DEFAULT_ROOT, LOCALES)
    assert set(lexicons) == set(LOCALES)
    assert all(isinstance(lex, Lexicon) and lex.terms for lex in lexicons.values())


# --- accuracy on the labelled set ----------------------------------------------------------------

# Measured with `python -m benchmarks.triage_eval` (docs/triage.md); the floors sit a few points
# below, so a regression of more than about one message per class fails the test.
FLOORS = {
    # class: (precision, recall)
    "enquiry": (0.93, 0.93),
    "general": (0.95, 0.90),
    "quality": (0.92, 0.96),
    "major": (0.95, 0.95),
}


def test_accuracy_on_the_labelled_set(triage: Triage) -> None:
    cases = load_cases()
    assert len(cases) >= 150
    for locale in LOCALES:
        assert sum(c.locale == locale for c in cases) >= 45, locale
    evaluation = evaluate(triage, cases)
    print()
    print(format_evaluation("labelled set", evaluation))
    for case, got in evaluation.errors:
        print(f"  miss [{case.locale}] expected {case.expected}, got {got}: {case.text}")
    for label, (precision, recall) in FLOORS.items():
        score = evaluation.scores[label]
        assert score.precision >= precision, (label, score)
        assert score.recall >= recall, (label, score)


def test_signal_is_hashable_and_frozen() -> None:
    signal = Signal("keyword", "broken", "damaged/quality")
    assert {signal} == {Signal("keyword", "broken", "damaged/quality")}


# --- issue #12: the named false alarms, and what must still be caught -------------------------


@pytest.mark.parametrize("text", NAMED_FALSE_ALARMS)
def test_named_false_alarms_are_enquiries(triage: Triage, text: str) -> None:
    assert triage.classify(text).kind is Kind.ENQUIRY


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("If you don't fix this I'll sue", Severity.MAJOR),
        ("I will be suing you", Severity.MAJOR),
        ("他妈的，又把我的订单弄丢了", Severity.MAJOR),
        ("我要找媒体曝光", Severity.MAJOR),
        ("服务态度很差", Severity.GENERAL),
        ("第三次找你们了，还是没解决", Severity.MAJOR),
        ("the kettle arrived brokn", Severity.QUALITY),
        ("退货！质量太差了", Severity.QUALITY),
    ],
)
def test_the_fixes_keep_real_complaints(triage: Triage, text: str, severity: Severity) -> None:
    assert triage.classify(text).severity is severity


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # a cue that overlaps the term by the term's own negation does not negate it
        ("打了三次电话都没人接", Severity.GENERAL),
        ("客服也没人回复", Severity.GENERAL),
        # account takeover and injuries without the usual words
        ("someone logged into my account and bought a TV", Severity.MAJOR),
        ("有人用我的账号买了一堆东西", Severity.MAJOR),
        ("the heater is a real safety issue", Severity.MAJOR),
    ],
)
def test_terms_found_since_the_development_set(
    triage: Triage, text: str, severity: Severity
) -> None:
    assert triage.classify(text).severity is severity


@pytest.mark.parametrize(
    "text",
    [
        "how many times can I use the welcome code?",
        "third time ordering from you, do I get a loyalty discount",
        "第三次在你们家买了，有老客户优惠吗",
    ],
)
def test_a_repeat_term_in_a_calm_question_is_set_aside(triage: Triage, text: str) -> None:
    decision = triage.classify(text)
    assert decision.kind is Kind.ENQUIRY
    # still recorded as a major term set aside, so the model may weigh it
    assert any(
        s.kind == "context" and "repeat/major" in s.detail and "a question" in s.detail
        for s in decision.signals
    )


@pytest.mark.parametrize(
    "text",
    [
        "how many times do I have to ask, this is ridiculous?",
        "第三次问了，怎么还没处理，太差了吧？",
        "I've written to you four times, nothing happens",
    ],
)
def test_a_repeat_complaint_stays_major(triage: Triage, text: str) -> None:
    assert triage.classify(text).severity is Severity.MAJOR


@pytest.mark.parametrize(
    "text",
    [
        "there are orders on my account that I never placed",
        "I can see another customer's address in my account",
        "账号里有我没买过的订单",
        "帳號裡有其他顧客的地址",
        "吃完全家上吐下瀉",
    ],
)
def test_takeovers_leaks_and_harm_in_plain_words_are_major(triage: Triage, text: str) -> None:
    assert triage.classify(text).severity is Severity.MAJOR
