"""How well the bot understands customers in their own words (issue #12): FAQ and triage figures
on labelled sets that were written before any run and split into development and held-out.

    python -m benchmarks.understanding_eval                    # held-out (the reported figures)
    python -m benchmarks.understanding_eval --set dev          # the half you may tune on
    python -m benchmarks.understanding_eval --set all --json   # machine-readable
    python -m benchmarks.understanding_eval --errors           # list every miss of the set
    python -m benchmarks.understanding_eval --speed            # also messages/s and start-up
    python -m benchmarks.understanding_eval --set heldout2     # the second, blind held-out set
    python -m benchmarks.understanding_eval --set heldout3     # the third, blind (triage only)
    python -m benchmarks.understanding_eval --set heldout4     # the fourth, blind (triage only)
    python -m benchmarks.understanding_eval --set heldout5     # the fifth, blind (triage only)
    python -m benchmarks.understanding_eval --set heldout6     # the sixth, blind (triage only)
    python -m benchmarks.understanding_eval --triage-file benchmarks/data/triage_check4.yaml
                                                               # triage alone on another file

Sets: ``benchmarks/data/faq_eval.yaml`` and ``benchmarks/data/triage_eval.yaml``; their headers
say how they were written. The split is fixed: within each locale × label list the item at
0-based position k is *dev* when k is even and *heldout* when k is odd. Tune on dev only.

``--set heldout2`` reads ``benchmarks/data/faq_heldout2.yaml`` and ``triage_heldout2.yaml``
instead: a second held-out set written later, by someone who had seen no figures, lexicon or
phrasing. It has no development half: every item is held-out and none may ever be tuned on.
The lead runs it once, at merge, and reports the figures; every further run (above all with
``--errors``, which shows the misses) spends some of its blindness. Their headers say more.

``--set heldout3`` reads ``benchmarks/data/triage_heldout3.yaml``: a third triage set, blind
like the second and run the same way (once, by the lead). It has no FAQ part, so its FAQ
figures are empty (``-``) and ``--speed`` times triage alone. ``--set heldout4`` reads
``benchmarks/data/triage_heldout4.yaml``, a fourth such set written after the third had been
used for a decision; it is run the same way, once, by the lead. ``--set heldout5`` reads
``benchmarks/data/triage_heldout5.yaml``, a fifth such set written after the fourth had been
used for decisions; it too is run once, by the lead, at merge. ``--set heldout6`` reads
``benchmarks/data/triage_heldout6.yaml``, a sixth such set written after the fifth had been
used for decisions, to judge the next step; it too is run once, by the lead, at merge.

**Spent sets.** A held-out set stops being evidence once it has decided a step. Since the sixth
step (docs/triage.md) the triage half of ``heldout`` and the triage sets ``heldout2``–``heldout4``
are training data (``benchmarks.train_understanding.writer_sets``, listed by name), and
``heldout5`` since the seventh; ``heldout6`` decided the seventh step and joins when a later step
begins. Their figures here are then training figures; the FAQ half of ``heldout2`` is still held
out.

FAQ, per set and locale (in-scope questions have an entry id, out-of-scope ones ``none``):

* ``right_or_confirm`` — the right entry answered directly, or offered in one "Do you mean"
  (outcome ``confirm`` with the right entry);
* ``direct`` — the right entry answered directly;
* ``wrong_direct`` — a direct answer with a wrong entry (share of in-scope questions);
* ``oos_not_answered`` — out-of-scope questions not answered directly (``none`` or ``confirm``).

Triage, per set and locale: ``accuracy`` of enquiry vs complaint, precision and recall of each
class (enquiry, general, quality, major; a complaint's class is its severity), and whether each
false alarm named in the issue is flagged as a complaint (it must not be).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.app.settings import LOCALES, Settings
from bot.app.understanding import build_faq_index, build_triage
from bot.core.faq import FaqIndex
from bot.core.triage import Triage

DATA = Path(__file__).resolve().parent / "data"
FAQ_SET = DATA / "faq_eval.yaml"
TRIAGE_SET = DATA / "triage_eval.yaml"
#: The second held-out set (issue #12): every item held-out, no development half.
FAQ_HELDOUT2 = DATA / "faq_heldout2.yaml"
TRIAGE_HELDOUT2 = DATA / "triage_heldout2.yaml"
#: The third held-out set (issue #12): triage only, every item held-out.
TRIAGE_HELDOUT3 = DATA / "triage_heldout3.yaml"
#: The fourth held-out set (issue #12): triage only, every item held-out.
TRIAGE_HELDOUT4 = DATA / "triage_heldout4.yaml"
#: The fifth held-out set (issue #12): triage only, every item held-out.
TRIAGE_HELDOUT5 = DATA / "triage_heldout5.yaml"
#: The sixth held-out set (issue #12): triage only, every item held-out.
TRIAGE_HELDOUT6 = DATA / "triage_heldout6.yaml"
#: The later held-out sets that have no FAQ part, by ``--set`` name.
TRIAGE_ONLY_HELDOUT = {
    "heldout3": TRIAGE_HELDOUT3,
    "heldout4": TRIAGE_HELDOUT4,
    "heldout5": TRIAGE_HELDOUT5,
    "heldout6": TRIAGE_HELDOUT6,
}
#: ``--set`` choices: halves of the first sets, both halves, or a later held-out set.
SETS = ("dev", "heldout", "all", "heldout2", *TRIAGE_ONLY_HELDOUT)
CLASSES = ("enquiry", "general", "quality", "major")

#: The false alarms issue #12 names: none of them may be read as a complaint.
NAMED_FALSE_ALARMS: tuple[str, ...] = (
    "Can I pay using Apple Pay?",
    "the parks nearby",
    "when does my voucher expire",
    "妈妈的生日礼物",
    "多媒体播放器",
    "你们发不发货到香港？",
    "服务态度很好",
    "第三次买了，很满意",
    "hi, how long do refunds take? thanks",
    "I want to exchange it for a bigger size",
    "退货，不合适",
)


@dataclass(frozen=True)
class Item:
    locale: str
    text: str
    label: str  # FAQ: entry id or "none"; triage: "enquiry" or a severity
    split: str  # "dev" or "heldout"


def load_set(path: Path, *, all_heldout: bool = False) -> list[Item]:
    """Every item of a set with its split (even position in its locale × label list: dev).

    ``all_heldout`` is for sets without a development half (``*_heldout2.yaml``,
    ``triage_heldout3.yaml``, ``triage_heldout4.yaml``): every item is then ``heldout``, so
    code that selects ``dev`` items (training, tuning) finds none.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items: list[Item] = []
    for locale, groups in data.items():
        for label, texts in groups.items():
            for k, text in enumerate(texts):
                split = "heldout" if all_heldout or k % 2 == 1 else "dev"
                items.append(Item(locale, str(text), str(label), split))
    return items


def load_items(which: str) -> tuple[list[Item], list[Item]]:
    """The FAQ and triage items of a ``--set`` choice (see :data:`SETS`)."""
    if which == "heldout2":
        return (
            load_set(FAQ_HELDOUT2, all_heldout=True),
            load_set(TRIAGE_HELDOUT2, all_heldout=True),
        )
    if which in TRIAGE_ONLY_HELDOUT:  # triage only: no FAQ questions
        return [], load_set(TRIAGE_ONLY_HELDOUT[which], all_heldout=True)
    if which not in SETS:
        raise ValueError(f"unknown set {which!r}; choose one of {', '.join(SETS)}")
    return (
        [i for i in load_set(FAQ_SET) if which == "all" or i.split == which],
        [i for i in load_set(TRIAGE_SET) if which == "all" or i.split == which],
    )


def build_faq(settings: Settings) -> FaqIndex:
    """The FAQ as the bot builds it (kept for the speed recipe in ``docs/faq.md``)."""
    return build_faq_index(settings)


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def faq_figures(index: FaqIndex, items: Sequence[Item]) -> tuple[dict[str, object], list[str]]:
    inscope = [i for i in items if i.label != "none"]
    oos = [i for i in items if i.label == "none"]
    right = direct = wrong = 0
    errors: list[str] = []
    for item in inscope:
        found = index.match(item.text, item.locale)
        if found.entry_id == item.label and found.outcome in ("answer", "confirm"):
            right += 1
            direct += found.outcome == "answer"
            if found.outcome == "answer":
                continue
        if found.outcome == "answer" and found.entry_id != item.label:
            wrong += 1
        errors.append(
            f"{item.locale}\t{item.label}\t{found.outcome}:{found.entry_id}:{found.score}"
            f"\t{item.text}"
        )
    not_answered = 0
    for item in oos:
        found = index.match(item.text, item.locale)
        if found.outcome != "answer":
            not_answered += 1
        else:
            errors.append(
                f"{item.locale}\tnone\tanswer:{found.entry_id}:{found.score}\t{item.text}"
            )
    return {
        "in_scope": len(inscope),
        "out_of_scope": len(oos),
        "right_or_confirm": _share(right, len(inscope)),
        "direct": _share(direct, len(inscope)),
        "wrong_direct": _share(wrong, len(inscope)),
        "oos_not_answered": _share(not_answered, len(oos)),
    }, errors


def _class(triage: Triage, text: str) -> str:
    decision = triage.classify(text)
    return "enquiry" if decision.severity is None else decision.severity.value


def triage_figures(triage: Triage, items: Sequence[Item]) -> tuple[dict[str, object], list[str]]:
    predicted = [_class(triage, i.text) for i in items]
    errors = [
        f"{i.locale}\t{i.label}\t{p}\t{i.text}"
        for i, p in zip(items, predicted, strict=True)
        if p != i.label
    ]
    kind_right = sum(
        (p == "enquiry") == (i.label == "enquiry") for i, p in zip(items, predicted, strict=True)
    )
    classes: dict[str, dict[str, object]] = {}
    for cls in CLASSES:
        tp = sum(p == cls == i.label for i, p in zip(items, predicted, strict=True))
        said = sum(p == cls for p in predicted)
        support = sum(i.label == cls for i in items)
        classes[cls] = {
            "support": support,
            "precision": _share(tp, said),
            "recall": _share(tp, support),
        }
    exact = sum(p == i.label for i, p in zip(items, predicted, strict=True))
    return {
        "n": len(items),
        "accuracy": _share(kind_right, len(items)),
        "class_accuracy": _share(exact, len(items)),
        "classes": classes,
    }, errors


def false_alarms(triage: Triage) -> dict[str, bool]:
    """Each named false alarm → whether it is (wrongly) flagged as a complaint."""
    return {t: triage.classify(t).severity is not None for t in NAMED_FALSE_ALARMS}


def speed(
    index: FaqIndex, triage: Triage, faq_items: Sequence[Item], tri: Sequence[Item]
) -> dict[str, float]:
    """Questions/s and messages/s in-process (best of 3 over ≥ 5,000 texts), and the start-up
    of ``rapport triage`` as a subprocess (best of 3, interpreter included). A set without FAQ
    questions (``heldout3``) has no questions/s figure."""
    questions = [(i.text, i.locale) for i in faq_items] * (5000 // max(len(faq_items), 1) + 1)
    messages = [i.text for i in tri] * (5000 // len(tri) + 1)
    best_faq = best_tri = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text, locale in questions:
            index.match(text, locale)
        best_faq = min(best_faq, time.perf_counter() - start)
        start = time.perf_counter()
        for text in messages:
            triage.classify(text)
        best_tri = min(best_tri, time.perf_counter() - start)
    startup = float("inf")
    code = "from bot.app.cli import app; app(['triage', '--json', 'hello'])"
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        startup = min(startup, time.perf_counter() - start)
    faq = {"faq_questions_per_s": round(len(questions) / best_faq)} if questions else {}
    return {
        **faq,
        "triage_messages_per_s": round(len(messages) / best_tri),
        "triage_cli_startup_s": round(startup, 2),
    }


def evaluate(
    which: str, with_speed: bool = False, models: bool = True, triage_file: Path | None = None
) -> tuple[dict[str, object], list[str]]:
    """Figures of a ``--set``; with ``triage_file``, triage alone on that file instead (same
    format as the sets: locale → label → messages; every item counted, no FAQ)."""
    settings = Settings(understanding_models=models)
    index = build_faq_index(settings)
    triage = build_triage(settings)
    if triage_file is None:
        faq_items, tri_items = load_items(which)
    else:
        faq_items, tri_items = [], load_set(triage_file, all_heldout=True)
        which = str(triage_file)
    report: dict[str, object] = {"set": which}
    errors: list[str] = []
    faq: dict[str, object] = {}
    tri: dict[str, object] = {}
    for locale in ("all", *LOCALES):
        fi = [i for i in faq_items if locale == "all" or i.locale == locale]
        ti = [i for i in tri_items if locale == "all" or i.locale == locale]
        faq[locale], faq_errors = faq_figures(index, fi)
        tri[locale], tri_errors = triage_figures(triage, ti)
        if locale == "all":
            errors += [f"faq\t{e}" for e in faq_errors] + [f"triage\t{e}" for e in tri_errors]
    report["faq"] = faq
    report["triage"] = tri
    report["named_false_alarms_flagged"] = false_alarms(triage)
    if with_speed:
        report["speed"] = speed(index, triage, faq_items, tri_items)
    return report, errors


def _pct(value: object) -> str:
    return "-" if value is None else f"{100 * float(str(value)):.1f} %"


def render_triage(tri: dict[str, Any]) -> str:
    """Triage's figures per locale (:func:`triage_figures` of each), a line each."""
    lines = []
    for locale, t in tri.items():
        parts = [f"{locale:<8} n={t['n']:<4} acc={t['accuracy']}  class-acc={t['class_accuracy']}"]
        for cls, c in t["classes"].items():
            parts.append(f"{cls} {c['precision']}/{c['recall']}")
        lines.append("  ".join(parts))
    return "\n".join(lines)


def render(report: dict[str, object]) -> str:
    lines = [f"set: {report['set']}", "", "FAQ"]
    lines.append(
        f"{'locale':<8} {'n':>4} {'oos':>4} {'right/conf':>11} {'direct':>9} {'wrong':>8} "
        f"{'oos ok':>8}"
    )
    faq = report["faq"]
    assert isinstance(faq, dict)
    for locale, f in faq.items():
        lines.append(
            f"{locale:<8} {f['in_scope']:>4} {f['out_of_scope']:>4} "
            f"{_pct(f['right_or_confirm']):>11} {_pct(f['direct']):>9} "
            f"{_pct(f['wrong_direct']):>8} {_pct(f['oos_not_answered']):>8}"
        )
    lines += ["", "Triage (accuracy = enquiry vs complaint; P/R per class)"]
    tri = report["triage"]
    assert isinstance(tri, dict)
    lines.append(render_triage(tri))
    lines += ["", "Named false alarms (flagged = wrongly read as a complaint)"]
    alarms = report["named_false_alarms_flagged"]
    assert isinstance(alarms, dict)
    for text, flagged in alarms.items():
        lines.append(f"  {'FLAGGED' if flagged else 'ok     '}  {text}")
    if "speed" in report:
        lines += ["", f"Speed: {report['speed']}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--set", choices=SETS, default="heldout")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--speed", action="store_true", help="also time FAQ, triage, start-up")
    parser.add_argument(
        "--rules-only", action="store_true", help="without the learned models (word lists alone)"
    )
    parser.add_argument(
        "--triage-file", type=Path, help="triage alone on this labelled file instead of --set"
    )
    args = parser.parse_args(argv)
    report, errors = evaluate(
        args.set, with_speed=args.speed, models=not args.rules_only, triage_file=args.triage_file
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(render(report))
    if args.errors:
        print("\nMisses:")
        print("\n".join(errors))


if __name__ == "__main__":
    main()
