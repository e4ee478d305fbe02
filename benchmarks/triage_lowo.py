"""Leave-one-writer-out (LOWO) evaluation of triage (issue #12, sixth step).

    python -m benchmarks.train_understanding --lowo [--sweep] [--errors]

Fourteen sets were written by people outside the team
(:func:`benchmarks.train_understanding.writer_sets`): five were once blind held-out sets, nine
were written as training data in the seventh step. For
each set S the training recipe of :func:`benchmarks.train_understanding.triage_examples`
(everything it uses, the other sets included, every text of S removed) fits a model, which
then reads S through the rules as in production. That is the estimate of "a writer the model
has not seen": S's messages, and its writer's way of putting things, are in no training
example. (For ``heldout1`` only approximately: the even half of its file, ``dev``, is by the
same writer and is trained on, and the rules were tuned on it.)

Calibration: the models (one per set) are fitted at temperature 1 and one temperature is
fitted on their pooled out-of-writer logits (the log-loss minimum, as
:func:`benchmarks.train_understanding.calibrated` does on 5 folds), so the thresholds mean the
same as in the shipped model, which uses this temperature too. Printed: the shipped model as
it is on each set (it never trained on S, except ``heldout1``'s writer through ``dev``), LOWO
per set and pooled, each with accuracy (enquiry vs complaint), P/R per class and per locale;
``sweep`` runs the pooled predictions through a grid of the model thresholds; ``errors`` lists
the pooled misses (reading them spends the estimate: figures after that are optimistic).
Deterministic; about seven minutes of CPU for the fourteen sets (11,880 messages).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.understanding_eval import Item, triage_figures
from bot.app.settings import LOCALES, Settings
from bot.app.understanding import build_triage
from bot.core.textmodel import TextModel
from bot.core.triage import Triage

#: ``--lowo --sweep`` grid: (model_complaint, model_major, model_veto, model_major_veto; 0 turns
#: the major-term veto off). The neutral-question check stays as the settings have it.
LOWO_SWEEP: tuple[tuple[float, float, float, float], ...] = tuple(
    (complaint, major, 0.15, major_veto)
    for complaint in (0.3, 0.35)
    for major in (0.3, 0.35, 0.4, 0.5, 0.65)
    for major_veto in (0.0, 0.1, 0.2)
)

Fitter = Callable[[str], TextModel]
"""Fits the model that leaves one writer set (by name) out."""


class _ByText:
    """Answers each text with the triage whose model never saw its writer's set."""

    def __init__(self, triage: Mapping[str, Triage]) -> None:
        self.triage = dict(triage)

    def classify(self, text: str) -> Any:
        return self.triage[text].classify(text)


def line(figures: dict[str, Any]) -> str:
    """One set's figures on one line: n, accuracy, P/R of each class."""
    c = figures["classes"]
    cells = [f"n={figures['n']} acc {figures['accuracy']}"]
    for cls in ("enquiry", "general", "quality", "major"):
        cells.append(f"{cls[:3]} {c[cls]['precision']}/{c[cls]['recall']}")
    return "  ".join(cells)


def by_locale(triage: Any, items: Sequence[Item]) -> str:
    """Accuracy and major P/R per locale."""
    cells = []
    for locale in LOCALES:
        f, _ = triage_figures(triage, [i for i in items if i.locale == locale])
        major: Any = f["classes"]["major"]  # type: ignore[index]
        cells.append(f"{locale} {f['accuracy']} maj {major['precision']}/{major['recall']}")
    return "  ".join(cells)


def lowo(
    settings: Settings,
    sets: Mapping[str, Sequence[Item]],
    fitter: Fitter,
    temperature_of: Callable[[Mapping[str, TextModel], Mapping[str, Sequence[Item]]], float],
    *,
    sweep: bool = False,
    errors: bool = False,
) -> float:
    """Prints the LOWO figures (module docstring); returns the pooled temperature."""
    shipped = build_triage(settings)
    models = {name: fitter(name) for name in sets}
    temperature = temperature_of(models, sets)
    triage: dict[str, Triage] = {}
    for name, items in sets.items():
        built = build_triage(
            settings, model=dataclasses.replace(models[name], temperature=temperature)
        )
        triage.update({i.text: built for i in items})
    by_text = _ByText(triage)
    pooled = [i for items in sets.values() for i in items]
    print(f"LOWO temperature (pooled out-of-writer logits): {temperature}")
    for name, items in sets.items():
        for who, t in (("shipped", shipped), ("LOWO", by_text)):
            f, _ = triage_figures(t, items)  # type: ignore[arg-type]
            print(f"{name:<9} {who:<8} {line(f)}")
            print(f"{'':<18} {by_locale(t, items)}")
    for who, t in (("shipped", shipped), ("LOWO", by_text)):
        f, misses = triage_figures(t, pooled)  # type: ignore[arg-type]
        print(f"{'pooled':<9} {who:<8} {line(f)}")
        print(f"{'':<18} {by_locale(t, pooled)}")
    if errors:
        _, misses = triage_figures(by_text, pooled)  # type: ignore[arg-type]
        print(f"LOWO misses ({len(misses)}; locale, label, predicted, text):")
        for miss in misses:
            print("  " + miss)
    if sweep:
        _sweep(by_text, sets)
    return temperature


def _sweep(by_text: _ByText, sets: Mapping[str, Sequence[Item]]) -> None:
    """The pooled LOWO predictions through :data:`LOWO_SWEEP` (same models, same rules)."""
    pooled = [i for items in sets.values() for i in items]
    print(
        "complaint / major / veto / major veto: pooled acc genR enqP majP/majR | major P/R per set"
    )
    for complaint, major, veto, major_veto in LOWO_SWEEP:
        thresholds = {"model_complaint": complaint, "model_major": major, "model_veto": veto}
        swept = _ByText(with_thresholds(by_text.triage, model_major_veto=major_veto, **thresholds))
        f, _ = triage_figures(swept, pooled)  # type: ignore[arg-type]
        c: Any = f["classes"]
        per = []
        for name, items in sets.items():
            g, _ = triage_figures(swept, items)  # type: ignore[arg-type]
            m: Any = g["classes"]["major"]  # type: ignore[index]
            per.append(f"{name[-1]}:{g['accuracy']},{m['precision']}/{m['recall']}")
        print(
            f"{complaint} / {major} / {veto} / {major_veto}: {f['accuracy']} "
            f"{c['general']['recall']} "
            f"{c['enquiry']['precision']} {c['major']['precision']}/{c['major']['recall']}"
            f" | {' '.join(per)}"
        )


def with_thresholds(triage: Mapping[str, Triage], **thresholds: Any) -> dict[str, Triage]:
    """``triage`` (text → the triage that reads it) with each distinct triage copied once and
    given other ``thresholds`` (its ``model_*`` attributes): same models, same rules."""
    variants: dict[int, Triage] = {}
    for t in triage.values():
        if id(t) not in variants:
            variant = copy.copy(t)
            for name, value in thresholds.items():
                setattr(variant, name, value)
            variants[id(t)] = variant
    return {text: variants[id(t)] for text, t in triage.items()}


def pooled_temperature(
    classes: Sequence[str],
    best: Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], tuple[float, float]],
) -> Callable[[Mapping[str, TextModel], Mapping[str, Sequence[Item]]], float]:
    """The temperature of the pooled out-of-writer logits, fitted by ``best``."""

    def temperature_of(
        models: Mapping[str, TextModel], sets: Mapping[str, Sequence[Item]]
    ) -> float:
        logits = [models[name].logits(i.text) for name, items in sets.items() for i in items]
        truth = [classes.index(i.label) for items in sets.values() for i in items]
        t, loss = best(np.array(logits), np.array(truth))
        print(f"  out-of-writer log-loss {loss:.3f} at temperature {t}")
        return t

    return temperature_of
