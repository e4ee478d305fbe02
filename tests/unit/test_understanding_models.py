"""The learned parts of the FAQ and triage (issue #12): features, the model, how it is stored,
and how FAQ and triage combine it with their rules; and the shipped models themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.understanding_eval import NAMED_FALSE_ALARMS
from bot.app.faq_data import load_faq, load_faq_words
from bot.app.settings import LOCALES, Settings
from bot.app.triage_data import DEFAULT_ROOT, load_lexicons
from bot.app.understanding import (
    FAQ_MODEL,
    TRIAGE_MODEL,
    ModelFileError,
    build_faq_index,
    build_triage,
    load_model,
    save_model,
)
from bot.core.faq import FaqIndex
from bot.core.textmodel import TextModel, features
from bot.core.triage import Kind, Severity, Triage

CLASSES = ("enquiry", "general", "quality", "major")


def _model(classes: tuple[str, ...], rows: dict[str, list[float]], bias: list[float]) -> TextModel:
    """A hand-made model: each feature pushes the classes by its row."""
    return TextModel.from_arrays(
        classes, list(rows), np.array(list(rows.values())), np.array(bias), 1.0
    )


# --- features and the model ---------------------------------------------------------------


def test_features_fold_traditional_chinese_digits_and_case() -> None:
    assert features("我要退貨") == features("我要退货")
    assert features("Order 58123?") == features("order 99?")
    assert "#?" in features("order 99?")
    assert {"C退", "C退货", "C要退货"} <= set(features("我要退货"))


def test_features_of_a_typo_share_character_grams_with_the_word() -> None:
    shared = set(features("refnd")) & set(features("refund"))
    assert {" re", " ref", "ref"} <= shared


def test_probabilities_sum_to_one_and_follow_the_weights() -> None:
    model = _model(CLASSES, {"Wbroken": [0, 0, 8, 0], "Wsue": [0, 0, 0, 8]}, [1, 0, 0, 0])
    broken = model.scores("it is broken")
    assert max(broken, key=broken.__getitem__) == "quality"
    assert sum(broken.values()) == pytest.approx(1.0)
    assert max(model.scores("hello"), key=model.scores("hello").__getitem__) == "enquiry"


def test_a_higher_temperature_is_less_sure() -> None:
    sure = _model(CLASSES, {"Wbroken": [0, 0, 4, 0]}, [0, 0, 0, 0])
    unsure = TextModel(sure.classes, sure.vocabulary, sure.weights, sure.bias, 3.0)
    assert unsure.scores("broken")["quality"] < sure.scores("broken")["quality"]


def test_model_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="features × classes"):
        TextModel.from_arrays(CLASSES, ["Wa"], np.zeros((1, 3)), np.zeros(4), 1.0)
    with pytest.raises(ValueError, match="temperature"):
        TextModel.from_arrays(CLASSES, ["Wa"], np.zeros((1, 4)), np.zeros(4), 0.0)


def test_a_model_round_trips_through_its_file(tmp_path: Path) -> None:
    model = _model(CLASSES, {"Wbroken": [0, 0, 2, 0], "C退货": [0, 1, 1, 0]}, [0.5, 0, 0, 0])
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.classes == model.classes
    assert loaded.scores("退貨 broken") == pytest.approx(model.scores("退货 broken"))


def test_a_missing_or_malformed_model_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"nowhere\.npz"):
        load_model(tmp_path / "nowhere.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, classes=np.array(["a"]))
    with pytest.raises(ModelFileError, match=r"bad\.npz: missing arrays"):
        load_model(bad)


# --- triage: rules and model together ------------------------------------------------------


@pytest.fixture(scope="module")
def lexicons():  # type: ignore[no-untyped-def]
    return load_lexicons(DEFAULT_ROOT, LOCALES)


def test_the_model_finds_a_complaint_the_rules_miss_and_says_why(lexicons) -> None:  # type: ignore[no-untyped-def]
    text = "the lid wobbles and hums"
    rules = Triage(lexicons)
    assert rules.classify(text).kind is Kind.ENQUIRY
    model = _model(CLASSES, {"Wwobbles": [0, 0, 6, 0]}, [0, 0, 0, 0])
    decision = Triage(lexicons, model=model, model_complaint=0.5).classify(text)
    assert (decision.kind, decision.severity) == (Kind.COMPLAINT, Severity.QUALITY)
    assert any(s.kind == "model" for s in decision.signals)


def test_below_the_threshold_the_model_leaves_an_enquiry_alone(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Wwobbles": [0, 0, 1, 0]}, [0, 0, 0, 0])
    triage = Triage(lexicons, model=model, model_complaint=0.9)
    assert triage.classify("the lid wobbles").kind is Kind.ENQUIRY


def test_a_rules_major_term_stays_major_whatever_the_model_says(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Wsue": [10, 0, 0, 0]}, [5, 0, 0, 0])
    decision = Triage(lexicons, model=model).classify("I will sue you")
    assert decision.severity is Severity.MAJOR


def test_the_default_complaint_bar_catches_a_complaint_at_0_37() -> None:
    # issue #12, fourth step: 0.35 instead of 0.4 (out-of-fold: general recall 0.842 → 0.858,
    # enquiry precision 0.927 → 0.939); a hand-made model gives p(complaint) ≈ 0.37 to anything
    model = _model(CLASSES, {"Wlid": [0, 0, 0, 0]}, [0.53, 0, -9, -9])
    text = "the lid again, as said before"
    assert 0.35 < 1 - model.scores(text)["enquiry"] < 0.4
    assert build_triage(Settings(), model=model).classify(text).kind is Kind.COMPLAINT
    stricter = Settings(triage_model_complaint=0.4)
    assert build_triage(stricter, model=model).classify(text).kind is Kind.ENQUIRY


def test_the_model_raises_a_complaint_to_major(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Wgrandma": [0, 0, 0, 60]}, [0, 0, 0, 0])
    text = "the kettle is broken, grandma is upset"
    assert Triage(lexicons).classify(text).severity is Severity.QUALITY
    decision = Triage(lexicons, model=model, model_major=0.5).classify(text)
    assert decision.severity is Severity.MAJOR


def test_the_model_overrules_a_lone_quality_keyword_it_is_sure_of(lexicons) -> None:  # type: ignore[no-untyped-def]
    text = "what does the broken line icon mean"
    assert Triage(lexicons).classify(text).severity is Severity.QUALITY
    model = _model(CLASSES, {"Wicon": [60, 0, 0, 0]}, [0, 0, 0, 0])
    decision = Triage(lexicons, model=model, model_veto=0.15).classify(text)
    assert decision.kind is Kind.ENQUIRY
    assert any(s.kind == "model_veto" for s in decision.signals)
    kept = Triage(lexicons, model=model, model_veto=0.0).classify(text)
    assert kept.severity is Severity.QUALITY


@pytest.mark.parametrize(
    ("leaning", "expected"),
    [([60, 0, 0, 0], None), ([0, 0, 60, 0], Severity.QUALITY), ([0, 0, 0, 0], Severity.MAJOR)],
)
def test_the_model_overrules_a_major_keyword_it_is_sure_is_no_major(  # type: ignore[no-untyped-def]
    lexicons, leaning: list[float], expected: Severity | None
) -> None:
    # an enquiry, a lesser complaint, or (p(major) 0.25, above the veto) kept major
    text = "I will see you in court on Saturday, the match starts at ten"
    assert Triage(lexicons).classify(text).severity is Severity.MAJOR
    model = _model(CLASSES, {"Wmatch": leaning}, [0, 0, 0, 0])
    decision = Triage(lexicons, model=model, model_major_veto=0.2).classify(text)
    assert decision.severity is expected
    assert any(s.kind == "model_major_veto" for s in decision.signals) is (
        expected is None or expected is Severity.QUALITY
    )
    assert Triage(lexicons, model=model).classify(text).severity is Severity.MAJOR  # off: 0
    with pytest.raises(ValueError, match="model_major_veto"):
        Triage(lexicons, model=model, model_major=0.5, model_major_veto=0.5)


def test_a_major_veto_at_or_above_the_major_bar_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="triage_model_major must be above"):
        Settings(triage_model_major=0.2, triage_model_major_veto=0.2)
    assert Settings(triage_model_major=0.3, triage_model_major_veto=0.2).triage_model_major == 0.3


def test_a_neutral_question_is_never_major_on_the_models_word(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Wgift": [0, 0, 0, 60], "Wcards": [0, 0, 0, 60]}, [0, 0, 0, 0])
    triage = Triage(lexicons, model=model, model_major=0.6)
    asked = triage.classify("can I buy gift cards online?")
    assert asked.kind is Kind.ENQUIRY
    assert any(s.kind == "model_major" for s in asked.signals)
    assert triage.classify("which gift cards do you sell").kind is Kind.ENQUIRY
    # 哪些 asks a question without a question mark
    data = _model(CLASSES, {"C个人": [0, 0, 0, 60]}, [0, 0, 0, 0])
    asked_zh = Triage(lexicons, model=data, model_major=0.6).classify("你们会保存我的哪些个人信息")
    assert asked_zh.kind is Kind.ENQUIRY
    # a sign of a problem lets the model decide: negativity, or a statement
    angry = triage.classify("why are your gift cards so useless and terrible?")
    assert angry.severity is Severity.MAJOR
    assert triage.classify("I bought gift cards today").severity is Severity.MAJOR
    # the negativity bar is a setting: at 0 every message shows a problem
    off = Triage(lexicons, model=model, model_major=0.6, model_major_negativity=0.0)
    assert off.classify("can I buy gift cards online?").severity is Severity.MAJOR


def test_below_the_major_threshold_the_model_gives_the_likelier_lesser_severity(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Wwobbles": [0, 3, 4, 5]}, [0, 0, 0, 0])
    text = "the lid wobbles on my kettle"
    p = model.scores(text)
    assert max(p, key=p.__getitem__) == "major" and p["major"] < 0.6
    decision = Triage(lexicons, model=model, model_major=0.6).classify(text)
    assert decision.severity is Severity.QUALITY
    assert Triage(lexicons, model=model, model_major=0.3).classify(text).severity is (
        Severity.MAJOR
    )


def test_praise_is_no_complaint_on_the_models_word(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Wsam": [0, 60, 0, 0]}, [0, 0, 0, 0])
    triage = Triage(lexicons, model=model)
    praise = triage.classify("Sam was very kind, thank you")
    assert praise.kind is Kind.ENQUIRY
    assert any(s.kind == "praise" and "thank you" in s.term for s in praise.signals)
    assert triage.classify("服务态度很好，谢谢小王 sam").kind is Kind.ENQUIRY
    # something negative besides the thanks: the model decides
    assert triage.classify("thank you Sam, but the wait was terrible").kind is Kind.COMPLAINT
    off = Triage(lexicons, model=model, model_praise_veto=False)
    assert off.classify("Sam was very kind, thank you").severity is Severity.GENERAL


def test_a_triage_model_must_have_the_triage_classes(lexicons) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="classes"):
        Triage(lexicons, model=_model(("a", "b"), {"Wx": [1, 0]}, [0, 0]))


# --- FAQ: matcher and model together -------------------------------------------------------


@pytest.fixture(scope="module")
def faq_parts():  # type: ignore[no-untyped-def]
    return load_faq(DEFAULT_ROOT, LOCALES), load_faq_words(DEFAULT_ROOT, LOCALES)


def _faq(faq_parts, model: TextModel, weight: float = 1.0) -> FaqIndex:  # type: ignore[no-untyped-def]
    entries, words = faq_parts
    return FaqIndex(
        entries,
        46,
        30,
        words=words,
        model=model,
        model_answer=0.6,
        model_confirm=0.3,
        model_weight=weight,
    )


def test_the_faq_model_answers_confirms_or_hands_off_by_probability(faq_parts) -> None:  # type: ignore[no-untyped-def]
    classes = ("none", "refund-time", "exchange")
    model = _model(classes, {"Wmoney": [0, 40, 0], "Wswap": [0, 1.2, 1.2]}, [1, 0, 0])
    index = _faq(faq_parts, model)
    answer = index.match("when is my money back", "en")
    assert (answer.outcome, answer.entry_id) == ("answer", "refund-time")
    assert index.match("swap my money thing", "en").outcome in ("answer", "confirm")
    assert index.match("what a lovely day outside", "en").outcome == "none"  # "none" wins
    assert index.match("hi thanks", "en").outcome == "none"  # small talk


def test_an_entry_likely_enough_is_offered_even_when_out_of_scope_wins(faq_parts) -> None:  # type: ignore[no-untyped-def]
    classes = ("none", "exchange", "refund-time")
    rows: dict[str, list[float]] = {"Wtight": [1.0, 0.6, 0], "Wweather": [8, 0, 0]}
    model = _model(classes, rows, [0, 0, 0])
    text = "the shoes are tight, next size up instead"
    p = model.scores(text)
    assert max(p, key=p.__getitem__) == "none" and p["exchange"] >= 0.3
    found = _faq(faq_parts, model).match(text, "en")
    assert (found.outcome, found.entry_id) == ("confirm", "exchange")
    assert _faq(faq_parts, model).match("what is the weather tomorrow", "en").outcome == "none"


def test_the_faq_answers_in_the_script_the_customer_wrote(faq_parts) -> None:  # type: ignore[no-untyped-def]
    model = _model(("none", "refund-time"), {"C退款": [0, 8]}, [0, 0])
    found = _faq(faq_parts, model).match("退款多久到账", "en")
    assert (found.entry_id, found.locale) == ("refund-time", "zh-Hans")


def test_a_faq_model_must_know_only_real_entries(faq_parts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="entries the FAQ has not"):
        _faq(faq_parts, _model(("none", "no-such-entry"), {"Wx": [0, 1]}, [0, 0]))


# --- the shipped models -------------------------------------------------------------------


def test_shipped_models_load_and_match_the_faq_and_triage() -> None:
    faq = load_model(DEFAULT_ROOT / FAQ_MODEL)
    ids = {e.id for e in load_faq(DEFAULT_ROOT, LOCALES)}
    assert set(faq.classes) == ids | {"none"}
    assert set(load_model(DEFAULT_ROOT / TRIAGE_MODEL).classes) == set(CLASSES)


@pytest.fixture(scope="module")
def shipped() -> Triage:
    return build_triage(Settings())


@pytest.mark.parametrize("text", NAMED_FALSE_ALARMS)
def test_named_false_alarms_stay_enquiries_with_the_model(shipped: Triage, text: str) -> None:
    assert shipped.classify(text).kind is Kind.ENQUIRY


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("If you don't fix this I'll sue", Severity.MAJOR),
        ("my personal data has been leaked", Severity.MAJOR),
        ("someone logged into my account and ordered stuff I never bought", Severity.MAJOR),
    ],
)
def test_the_issues_misses_are_caught_with_the_model(
    shipped: Triage, text: str, severity: Severity
) -> None:
    assert shipped.classify(text).severity is severity


@pytest.mark.parametrize(
    "text",
    [
        "a question about gift cards",
        "Sam was very kind, thank you",
        "can I delete my account and all my data",
        "你们会保存我的哪些个人信息",
        # neutral questions about data in no training file: since the sixth step the shipped
        # settings turn the neutral-question check off, and the model must tell them apart
        "Is my card data stored on your servers?",
        "Do you keep a copy of my ID after age verification?",
        "你們會把我的電話給快遞公司嗎？",
        "注销账号以后我的订单记录还会保留吗？",
    ],
)
def test_the_lead_s_false_alarms_stay_enquiries_with_the_model(shipped: Triage, text: str) -> None:
    assert shipped.classify(text).kind is Kind.ENQUIRY


def test_shipped_faq_answers_the_issues_examples() -> None:
    index = build_faq_index(Settings())
    assert index.match("我想退货，怎么操作？", "zh-Hans").outcome == "answer"
    assert index.match("hi", "en").outcome == "none"


@pytest.mark.parametrize("text", ["a question about gift cards", "gift card balance"])
def test_shipped_faq_does_not_answer_gift_cards_with_gift_wrapping(text: str) -> None:
    # the FAQ has no gift-card entry: a person answers, at most after a "Do you mean"
    assert build_faq_index(Settings()).match(text, "en").outcome != "answer"


def test_the_model_alone_does_not_judge_a_fragment(lexicons) -> None:  # type: ignore[no-untyped-def]
    model = _model(CLASSES, {"Winvoice": [0, 0, 0, 60]}, [0, 0, 0, 0])
    short = Triage(lexicons, model=model, model_min_units=4)
    assert short.classify("my invoice thing").kind is Kind.ENQUIRY
    assert short.classify("a question about my invoice").severity is Severity.MAJOR


def test_a_one_word_question_is_confirmed_not_answered_blindly(faq_parts) -> None:  # type: ignore[no-untyped-def]
    model = _model(("none", "invoice"), {"Winvoice": [0, 60]}, [0, 0])
    index = _faq(faq_parts, model)
    assert index.match("invoice", "en").outcome == "confirm"
    assert index.match("where can I download my invoice", "en").outcome == "answer"
