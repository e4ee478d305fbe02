"""The sixth blind held-out set of issue #12 (``benchmarks/data/triage_heldout6.yaml``, triage
only), written to judge, once, at merge, the triage step that follows the fifth set.

Shape only, as for the fifth set (``test_understanding_heldout5``, whose folding and script
rules are reused): the counts its header states per locale and label, no message twice, each
Chinese locale in its own script, and no message shared — after folding case, white space and
punctuation — with any other yaml under ``benchmarks/data/`` (found by glob), the unit-test
cases or the FAQ entries. Nothing here runs triage on the set: its figures are taken once, by
``python -m benchmarks.understanding_eval --set heldout6``. Failures name positions in this
set's file, never another file's text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import opencc
import pytest
import yaml

import benchmarks.understanding_eval as understanding_eval
from benchmarks.triage_nearest import folded
from benchmarks.understanding_eval import TRIAGE_HELDOUT6, Item, load_items, load_set
from bot.app.faq_data import load_faq
from bot.app.settings import LOCALES
from bot.app.triage_data import DEFAULT_ROOT
from tests.unit.test_understanding_heldout2 import strings
from tests.unit.test_understanding_heldout5 import SHARED_VARIANTS

ROOT = Path(__file__).resolve().parents[2]
#: The counts the file's header states: per locale, messages labelled each of ``CLASSES``.
CLASSES = understanding_eval.CLASSES
COUNTS = {"en": (125, 58, 46, 101), "zh-Hans": (107, 52, 40, 86), "zh-Hant": (107, 52, 40, 86)}
#: The brief: at least 900 messages and 270 majors (major recall to about ±1 point).
MIN_SIZE, MIN_MAJOR = 900, 270


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_set(TRIAGE_HELDOUT6, all_heldout=True)


def at(items: list[Item], bad: set[str]) -> list[str]:
    """``file: locale/label[k]`` of each item whose folded text is in ``bad`` (k counts within
    its locale × label list)."""
    seen: Counter[tuple[str, str]] = Counter()
    found = []
    for item in items:
        key = (item.locale, item.label)
        if folded(item.text) in bad:
            found.append(f"{TRIAGE_HELDOUT6.name}: {key[0]}/{key[1]}[{seen[key]}]")
        seen[key] += 1
    return found


def test_counts_are_the_headers_and_the_briefs(items: list[Item]) -> None:
    per = Counter((i.locale, i.label) for i in items)
    assert set(COUNTS) == set(LOCALES) and len(per) == 12
    assert CLASSES == ("enquiry", "general", "quality", "major")
    assert {loc: tuple(per[(loc, lab)] for lab in CLASSES) for loc in COUNTS} == COUNTS
    total, majors = len(items), sum(per[(loc, "major")] for loc in COUNTS)
    assert total >= MIN_SIZE and majors >= MIN_MAJOR
    header = TRIAGE_HELDOUT6.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert f"{total} messages" in header and f"{majors} major" in header
    assert "EVERY ITEM IS HELD-OUT" in header and "blind6" in header


def test_every_message_is_new_within_the_set(items: list[Item]) -> None:
    texts = Counter(folded(i.text) for i in items)
    assert "" not in texts
    assert not (again := {t for t, n in texts.items() if n > 1}), at(items, again)


def test_simplified_and_traditional_are_not_mixed(items: list[Item]) -> None:
    to_trad, to_simp = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")

    def slipped(item: Item) -> bool:
        if item.locale == "zh-Hans":
            return str(to_simp.convert(item.text)) != item.text
        if item.locale == "zh-Hant":
            trad = to_trad.convert(item.text)
            return bool(
                {a for a, b in zip(item.text, trad, strict=True) if a != b} - SHARED_VARIANTS
            )
        return False

    assert not (wrong := {folded(i.text) for i in items if slipped(i)}), at(items, wrong)


def test_no_message_is_in_another_set_the_cases_or_the_faq(items: list[Item]) -> None:
    paths = [
        p for p in sorted((ROOT / "benchmarks" / "data").glob("*.yaml")) if p != TRIAGE_HELDOUT6
    ]
    assert {"triage_heldout5.yaml", "understanding_train.yaml"} <= {p.name for p in paths}
    paths += [
        ROOT / "tests" / "unit" / "triage_cases.yaml",
        ROOT / "tests" / "unit" / "faq_cases.yaml",
    ]
    known = {
        folded(s) for p in paths for s in strings(yaml.safe_load(p.read_text(encoding="utf-8")))
    }
    known |= {
        folded(q) for e in load_faq(DEFAULT_ROOT, LOCALES) for q in (e.question, *e.phrasings)
    }
    assert not (shared := at(items, known)), shared  # positions only: no other file's text


def test_the_cli_reads_it_as_triage_only_and_all_held_out(
    items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_items("heldout6") == ([], items)
    assert {i.split for i in items} == {"heldout"}
    chosen: list[str] = []

    def measured(which: str, **_: object) -> tuple[dict[str, object], list[str]]:
        chosen.append(which)  # stands in for the evaluation: nothing is measured
        return {}, []

    monkeypatch.setattr(understanding_eval, "evaluate", measured)
    understanding_eval.main(["--set", "heldout6", "--json"])
    assert chosen == ["heldout6"]
