"""The issue #12 evaluation sets: sizes, labels and the fixed dev/held-out split."""

from __future__ import annotations

from collections import Counter

from benchmarks.triage_nearest import nearest_scores
from benchmarks.understanding_eval import FAQ_SET, TRIAGE_SET, load_set
from bot.app.faq_data import load_faq
from bot.app.settings import LOCALES
from bot.app.triage_data import DEFAULT_ROOT


def test_triage_set_is_large_balanced_and_split_in_half() -> None:
    items = load_set(TRIAGE_SET)
    assert len(items) >= 600
    assert {i.label for i in items} == {"enquiry", "general", "quality", "major"}
    assert {i.locale for i in items} == set(LOCALES)
    splits = Counter(i.split for i in items)
    assert splits["dev"] == splits["heldout"]
    assert len({(i.locale, i.text) for i in items}) == len(items)  # no message twice


def test_faq_set_labels_are_real_entries_and_phrasings_are_not_copied() -> None:
    items = load_set(FAQ_SET)
    entries = load_faq(DEFAULT_ROOT, LOCALES)
    ids = {e.id for e in entries}
    assert sum(i.label != "none" for i in items) >= 300
    assert sum(i.label == "none" for i in items) >= 60
    assert {i.label for i in items} - {"none"} <= ids
    own = {p.casefold().strip() for e in entries for p in (e.question, *e.phrasings)}
    assert not [i.text for i in items if i.text.casefold().strip() in own]
    splits = Counter(i.split for i in items)
    assert splits["dev"] == splits["heldout"]


def test_nearest_scores_fold_case_space_and_punctuation_before_comparing() -> None:
    corpus = ["Where is my order?", "我的快递到哪了"]
    scores = nearest_scores(["where is my ORDER", "我的快递到哪了！", "zzzz"], corpus)
    assert scores[0] == scores[1] == 100.0
    assert scores[2] < 20
