"""A small learned text classifier, shared by the FAQ and triage (issue #12).

Word lists only know the words someone listed; customers use others. This module scores a text
with a multinomial logistic regression over sparse text features, in plain Python and numpy:

* **Features** (:func:`features`): the text is NFKC-folded, casefolded, Traditional Chinese
  folded to Simplified and digit runs read as ``0``. Latin words give the word, word bigrams
  and the character 3–5-grams of `` word `` (so "refnd" still shares "ref", "fnd" with
  "refund"); runs of Chinese characters give characters, bigrams and trigrams (no segmenter:
  退货/退款/不退 are all bigrams). ``?`` and ``!`` are features too. Each distinct feature
  counts once; a text's vector is divided by the square root of its feature count so long and
  short messages are on one scale.
* **Inference** (:class:`TextModel`): a dictionary from feature to row of the weight matrix; a
  text's class scores are the sum of its rows, plus the bias, divided by the *temperature*,
  through a softmax. The temperature was fitted on out-of-fold predictions when the model was
  trained, so the probabilities are calibrated: 0.8 means right about four times in five on
  texts the model had not seen (:mod:`benchmarks.train_understanding`).

The weights are data (``scripts_i18n/models/*.npz``, loaded by :mod:`bot.app.understanding`);
this module reads no file. A text takes a few tens of microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.core.text import fold_chinese, nfkc

__all__ = ["TextModel", "features"]

_DIGITS = re.compile(r"[0-9]+")
_LATIN = re.compile(r"[a-z]+(?:'[a-z]+)*")
_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


#: Words seen → their features (word and character grams): customers reuse their words, and
#: cutting a word into grams is most of the work. Bounded, and it holds single words only (like
#: the typo caches of triage and the FAQ).
_WORD_GRAMS: dict[str, list[str]] = {}
_WORD_GRAMS_MAX = 50_000


def _word_grams(word: str) -> list[str]:
    padded = f" {word} "
    n = len(padded)
    return [
        "W" + word,
        *[padded[i : i + 3] for i in range(n - 2)],
        *[padded[i : i + 4] for i in range(n - 3)],
        *[padded[i : i + 5] for i in range(n - 4)],
    ]


def features(text: str) -> list[str]:
    """The distinct features of a text (see the module docstring), in first-seen order.

    Latin character grams are written bare (lowercase letters and spaces); every other feature
    starts with a character no gram holds: ``W`` a word, ``B`` a word bigram, ``C`` Chinese
    characters, ``#`` a mark. (Plain string slicing, no prefixing of the many grams: this is
    the hot loop of triage.)"""
    base = nfkc(text).casefold()
    folded = _DIGITS.sub("0", fold_chinese(base) if _HAN_RUN.search(base) else base)
    out: list[str] = []
    append, extend = out.append, out.extend
    previous = "^"
    for word in _LATIN.findall(folded):
        word = word.replace("'", "")
        append("B" + previous + " " + word)
        previous = word
        grams = _WORD_GRAMS.get(word)
        if grams is None:
            grams = _word_grams(word)
            if len(_WORD_GRAMS) < _WORD_GRAMS_MAX:
                _WORD_GRAMS[word] = grams
        extend(grams)
    for run in _HAN_RUN.findall(folded):
        n = len(run)
        extend(["C" + run[i] for i in range(n)])
        extend(["C" + run[i : i + 2] for i in range(n - 1)])
        extend(["C" + run[i : i + 3] for i in range(n - 2)])
    if "0" in folded:
        append("#num")
    if "?" in folded:
        append("#?")
    if "!" in folded:
        append("#!")
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class TextModel:
    """A trained classifier: ``classes`` (names), ``vocabulary`` (feature → row of
    ``weights``), ``weights`` (features × classes), ``bias`` (classes) and ``temperature``."""

    classes: tuple[str, ...]
    vocabulary: Mapping[str, int]
    weights: np.ndarray[Any, Any]
    bias: np.ndarray[Any, Any]
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.weights.shape != (len(self.vocabulary), len(self.classes)):
            raise ValueError("weights must be features × classes")
        if self.bias.shape != (len(self.classes),):
            raise ValueError("bias must have one value per class")
        if self.temperature <= 0:
            raise ValueError("temperature must be positive")

    def logits(self, text: str) -> np.ndarray[Any, Any]:
        """Class scores before the temperature and the softmax."""
        feats = features(text)
        rows = [r for r in map(self.vocabulary.get, feats) if r is not None]
        if not rows:
            return np.asarray(self.bias, dtype=np.float64)
        total = self.weights.take(rows, axis=0).sum(axis=0, dtype=np.float64)
        return np.asarray(total / np.sqrt(len(feats)) + self.bias, dtype=np.float64)

    def probabilities(self, text: str) -> np.ndarray[Any, Any]:
        """Calibrated class probabilities, in the order of ``classes``."""
        z = self.logits(text) / self.temperature
        z = np.exp(z - z.max())
        return np.asarray(z / z.sum())

    def scores(self, text: str) -> dict[str, float]:
        """Class → calibrated probability."""
        return dict(zip(self.classes, self.probabilities(text).tolist(), strict=True))

    @classmethod
    def from_arrays(
        cls,
        classes: Sequence[str],
        vocabulary: Sequence[str],
        weights: np.ndarray[Any, Any],
        bias: np.ndarray[Any, Any],
        temperature: float,
    ) -> TextModel:
        """A model from the arrays it is stored as (vocabulary in row order)."""
        return cls(
            tuple(str(c) for c in classes),
            {str(f): i for i, f in enumerate(vocabulary)},
            np.asarray(weights, dtype=np.float32),
            np.asarray(bias, dtype=np.float64),
            float(temperature),
        )
