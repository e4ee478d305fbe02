"""Loading and saving the learned models of the FAQ and triage (issue #12).

The weights live in ``scripts_i18n/models/`` as numpy ``.npz`` files (no pickle: the arrays are
numbers and fixed-width strings), written by ``python -m benchmarks.train_understanding`` and
read here into :class:`bot.core.textmodel.TextModel` values. A missing or malformed file raises
:class:`ModelFileError` naming the file. :func:`build_faq_index` and :func:`build_triage` build
the FAQ matcher and triage as the bot, the CLI and the benchmarks all use them: word lists,
thresholds from the settings, and the model unless ``understanding_models`` is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.app.faq_data import load_faq, load_faq_words
from bot.app.settings import LOCALES, Settings
from bot.app.triage_data import load_lexicons
from bot.core.faq import FaqEntry, FaqIndex
from bot.core.textmodel import TextModel
from bot.core.triage import Triage
from scripts_i18n import ROOT

__all__ = [
    "FAQ_MODEL",
    "TRIAGE_MODEL",
    "ModelFileError",
    "build_faq_index",
    "build_triage",
    "load_model",
    "save_model",
]

FAQ_MODEL = Path("models") / "faq.npz"
"""The FAQ's model, relative to the scripts folder (classes: ``none`` and the entry ids)."""
TRIAGE_MODEL = Path("models") / "triage.npz"
"""Triage's model, relative to the scripts folder (classes: enquiry, general, quality, major)."""

_KEYS = ("classes", "vocabulary", "weights", "bias", "temperature")


class ModelFileError(ValueError):
    """A model file is missing or malformed."""


def save_model(model: TextModel, path: Path) -> None:
    """Writes ``model`` to ``path`` (compressed, deterministic content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    vocabulary = sorted(model.vocabulary, key=model.vocabulary.__getitem__)
    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            classes=np.array(model.classes),
            vocabulary=np.array(vocabulary),
            weights=np.asarray(model.weights, dtype=np.float32),
            bias=np.asarray(model.bias, dtype=np.float64),
            temperature=np.array(model.temperature),
        )


def load_model(path: Path) -> TextModel:
    """The model stored at ``path``; :class:`ModelFileError` if it is missing or malformed."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            missing = [k for k in _KEYS if k not in stored.files]
            if missing:
                raise ModelFileError(f"{path}: missing arrays {', '.join(missing)}")
            return TextModel.from_arrays(
                stored["classes"].tolist(),
                stored["vocabulary"].tolist(),
                stored["weights"],
                stored["bias"],
                float(stored["temperature"]),
            )
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model ({exc})") from exc
    except ValueError as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path}: malformed model ({exc})") from exc


def build_faq_index(
    settings: Settings,
    root: Path = ROOT,
    *,
    entries: Sequence[FaqEntry] | None = None,
    model: TextModel | None = None,
) -> FaqIndex:
    """The FAQ matcher over ``entries`` (default: loaded from ``root``), with ``model`` or, when
    none is given and ``settings.understanding_models`` is on, the shipped model."""
    if model is None and settings.understanding_models:
        model = load_model(root / FAQ_MODEL)
    return FaqIndex(
        load_faq(root, LOCALES) if entries is None else entries,
        answer_threshold=settings.faq_answer_threshold,
        confirm_threshold=settings.faq_confirm_threshold,
        answer_margin=settings.faq_answer_margin,
        words=load_faq_words(root, LOCALES),
        model=model,
        model_answer=settings.faq_model_answer,
        model_confirm=settings.faq_model_confirm,
        model_weight=settings.faq_model_weight,
    )


def build_triage(
    settings: Settings, root: Path = ROOT, *, model: TextModel | None = None
) -> Triage:
    """Triage with the lexicons of ``root``, with ``model`` or, when none is given and
    ``settings.understanding_models`` is on, the shipped model."""
    if model is None and settings.understanding_models:
        model = load_model(root / TRIAGE_MODEL)
    return Triage(
        load_lexicons(root, LOCALES),
        complaint_negativity=settings.triage_complaint_negativity,
        model=model,
        model_complaint=settings.triage_model_complaint,
        model_major=settings.triage_model_major,
        model_veto=settings.triage_model_veto,
        model_min_units=settings.triage_model_min_units,
        model_major_negativity=settings.triage_model_major_negativity,
        model_praise_veto=settings.triage_model_praise_veto,
        model_major_veto=settings.triage_model_major_veto,
    )
