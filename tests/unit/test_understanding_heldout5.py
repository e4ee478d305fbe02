"""The fifth blind held-out set of issue #12 (``benchmarks/data/triage_heldout5.yaml``, triage
only).

Only shape is checked here: the file parses, has the counts its header states per locale and
label, holds no message twice, writes each Chinese locale in its own script, and shares no
message with any other set under ``benchmarks/data/``, the unit-test cases or the FAQ entries —
compared after folding case, white space and punctuation, so "Hi, where's my order?" and
"hi where s my order" count as one. Nothing here runs triage on the set: its figures are taken
once, by ``python -m benchmarks.understanding_eval --set heldout5``, and never tuned on.
Failures name positions in the held-out file, never another file's text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import opencc
import pytest
import yaml

import benchmarks.understanding_eval as understanding_eval
from benchmarks.triage_nearest import folded
from benchmarks.understanding_eval import TRIAGE_HELDOUT5, Item, load_items, load_set
from bot.app.faq_data import load_faq
from bot.app.settings import LOCALES
from bot.app.triage_data import DEFAULT_ROOT
from tests.unit.test_understanding_heldout2 import strings

ROOT = Path(__file__).resolve().parents[2]
#: The counts the file's header states, per locale and label.
COUNTS = {
    "en": {"enquiry": 98, "general": 49, "quality": 37, "major": 64},
    "zh-Hans": {"enquiry": 85, "general": 42, "quality": 32, "major": 55},
    "zh-Hant": {"enquiry": 84, "general": 43, "quality": 33, "major": 58},
}
#: The brief: at least 660 messages and 165 majors (major recall to about ±1.5 points).
MIN_SIZE, MIN_MAJOR = 660, 165
#: Characters OpenCC's s2t rewrites that Traditional writers use too (variants, not slips).
SHARED_VARIANTS = set("晒吃台床唇折群")
#: Other files whose messages this set must not repeat (besides the FAQ entries).
OTHER_FILES = (
    *sorted(p for p in (ROOT / "benchmarks" / "data").glob("*.yaml") if p != TRIAGE_HELDOUT5),
    ROOT / "tests" / "unit" / "triage_cases.yaml",
    ROOT / "tests" / "unit" / "faq_cases.yaml",
)


def positions(items: list[Item], keys: set[str]) -> list[str]:
    """Positions (locale, label, index in that list) of the items whose folded text is in
    ``keys``."""
    lists = [f"{i.locale}/{i.label}" for i in items]
    return [
        f"{TRIAGE_HELDOUT5.name}: {name}[{lists[:k].count(name)}]"
        for k, (name, item) in enumerate(zip(lists, items, strict=True))
        if folded(item.text) in keys
    ]


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_set(TRIAGE_HELDOUT5, all_heldout=True)


def test_counts_per_locale_and_label_are_those_of_the_header(items: list[Item]) -> None:
    per = Counter((i.locale, i.label) for i in items)
    assert set(COUNTS) == set(LOCALES)
    assert {loc: {lab: per[(loc, lab)] for lab in c} for loc, c in COUNTS.items()} == COUNTS
    assert len(items) == sum(per.values()) == sum(sum(c.values()) for c in COUNTS.values())
    assert len(items) >= MIN_SIZE
    assert sum(i.label == "major" for i in items) >= MIN_MAJOR
    header = TRIAGE_HELDOUT5.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert f"{len(items)} messages" in header and "EVERY ITEM IS HELD-OUT" in header


def test_no_message_twice_and_none_empty(items: list[Item]) -> None:
    assert all(folded(i.text) for i in items)
    counts = Counter(folded(i.text) for i in items)
    assert not (twice := {t for t, n in counts.items() if n > 1}), positions(items, twice)


def test_each_chinese_locale_is_in_its_own_script(items: list[Item]) -> None:
    s2t, t2s = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")
    slips = set()
    for item in items:
        if item.locale == "zh-Hans" and t2s.convert(item.text) != item.text:
            slips.add(folded(item.text))  # a Traditional character in Simplified
        if item.locale == "zh-Hant":
            changed = {a for a, b in zip(item.text, s2t.convert(item.text), strict=True) if a != b}
            if changed - SHARED_VARIANTS:
                slips.add(folded(item.text))  # a Simplified character in Traditional
    assert not slips, positions(items, slips)


def test_shares_no_message_with_any_other_set_the_cases_or_the_faq(items: list[Item]) -> None:
    others: set[str] = set()
    for path in OTHER_FILES:
        others |= {folded(s) for s in strings(yaml.safe_load(path.read_text(encoding="utf-8")))}
    entries = load_faq(DEFAULT_ROOT, LOCALES)
    others |= {folded(p) for e in entries for p in (e.question, *e.phrasings)}
    assert any(p.name == "triage_heldout4.yaml" for p in OTHER_FILES)  # the glob found the sets
    overlap = positions(items, others)  # positions only: never print the other files' text
    assert not overlap, overlap


def test_set_is_triage_only_all_held_out_and_the_cli_accepts_it(
    items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    faq, tri = load_items("heldout5")
    assert faq == [] and tri == items
    assert {i.split for i in tri} == {"heldout"}
    seen: list[str] = []

    def fake(chosen: str, **_: object) -> tuple[dict[str, object], list[str]]:
        seen.append(chosen)  # replaces the evaluation: nothing is measured
        return {"set": chosen}, []

    monkeypatch.setattr(understanding_eval, "evaluate", fake)
    understanding_eval.main(["--set", "heldout5", "--json"])
    assert seen == ["heldout5"]
