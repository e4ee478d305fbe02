"""Text folding for matching, shared by the FAQ matcher and complaint triage.

Everything here prepares text for *comparison*, never for display: the customer's own words are
what a reply or an agent shows.

* **Normalisation.** :func:`nfkc` (full-width forms, curly apostrophes); :func:`normalise` for
  the FAQ (casefold, punctuation and symbols out, whitespace collapsed, Simplified).
* **Traditional → Simplified.** :func:`to_simplified` and the position-keeping
  :func:`fold_chinese` (opencc ``t2s``, plus :data:`VARIANTS`, characters that ``t2s`` leaves
  different from common Simplified usage); :func:`to_traditional` for the way back;
  :func:`detect_locale` tells en, zh-Hans and zh-Hant apart.
* **Token boundaries.** :func:`latin_units` cuts Latin text into words ("doesn't" = "doesnt");
  :func:`is_bounded` keeps a match from starting or ending inside a Latin word or a number
  ("sb" inside "usb", 315 inside 1315) when the units are single characters.
* **Chinese words.** :func:`cjk_word_edges`: where jieba's segmentation puts word boundaries,
  so a short term is not found inside a longer word (妈的 in 妈妈的, 媒体 in 多媒体播放器).
* **Common words.** :func:`is_common_word` (wordfreq, data shipped in its wheel): a real, common
  English word ("using", "parks") is never read as a typo of a lexicon word.
* **Typo tolerance** (rapidfuzz), two strengths for two jobs: :func:`one_typo_correction`, the
  strict reading triage uses (one letter dropped, added or two neighbours swapped, never a
  substituted letter: that is how real words such as "tracked" and "cracked" differ), and
  :func:`closest_spelling`, the looser FAQ reading (whole-word similarity ≥ a cutoff).

Pure functions over strings; opencc converters, the jieba dictionary and the wordfreq list are
loaded once, on first use (jieba and wordfreq only when a message needs them, so start-up stays
fast).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import opencc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

__all__ = [
    "CJK",
    "HAN",
    "LATIN_WORD",
    "VARIANTS",
    "cjk_word_edges",
    "closest_spelling",
    "detect_locale",
    "fold_chinese",
    "has_cjk",
    "is_bounded",
    "is_common_word",
    "is_one_typo",
    "latin_units",
    "nfkc",
    "normalise",
    "one_typo_correction",
    "to_simplified",
    "to_traditional",
]

#: One Han character (CJK unified ideographs, extension A and beyond, compatibility forms).
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
#: One Han, kana or hangul character: text the FAQ treats as CJK (no spaces between words).
CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)
#: A run of Latin letters, as written (case kept: SHOUTING counts in triage).
LATIN_WORD = re.compile(r"[A-Za-z]+")
_LATIN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[^\sa-z0-9]")

#: Simplified variants that opencc's t2s leaves different from common Simplified usage
#: (帳號 → 帐号, while Simplified writers use 账号, 到账). Matching only.
VARIANTS = str.maketrans({"帐": "账"})


# --- normalisation ----------------------------------------------------------------------------


def nfkc(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII), curly apostrophes become ``'``."""
    return unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")


def normalise(text: str) -> str:
    """Folds ``text`` for FAQ matching: NFKC, casefold, every punctuation (P*), symbol (S*) and
    control (C*) character replaced by a space, whitespace collapsed, Traditional Chinese
    converted to Simplified."""
    folded = nfkc(text).casefold()
    cleaned = folded.translate(_BLANK_PUNCTUATION)
    collapsed = " ".join(cleaned.split())
    if not collapsed.isascii():
        collapsed = to_simplified(collapsed)
    return collapsed


class _Blanks(dict[int, str]):
    """``str.translate`` table: punctuation (P*), symbol (S*) and control (C*) characters
    become a space, others stay; each character's category is looked up once, then
    remembered (at most every Unicode code point: a bounded table)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        value = " " if unicodedata.category(char)[0] in "PSC" else char
        self[code] = value
        return value


_BLANK_PUNCTUATION = _Blanks()


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any Han, kana or hangul character."""
    return CJK.search(text) is not None


# --- Traditional and Simplified Chinese -------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    """Traditional → Simplified (opencc ``t2s``) with :data:`VARIANTS` applied. Phrase-level
    conversion: the result may differ in length; use :func:`fold_chinese` to keep positions."""
    return str(_t2s().convert(text)).translate(VARIANTS)


def to_traditional(text: str) -> str:
    """Simplified → Traditional (opencc ``s2t``), e.g. to show a Simplified label to a zh-Hant
    customer."""
    return str(_s2t().convert(text))


def fold_chinese(text: str) -> str:
    """NFKC, casefold, Traditional → Simplified, keeping one character per character so that
    positions in the result are positions in the original."""
    base = nfkc(text).casefold()
    folded = str(_t2s().convert(base))
    if len(folded) != len(base):
        folded = "".join(_t2s().convert(ch) for ch in base)
    return folded.translate(VARIANTS)


def detect_locale(text: str) -> str:
    """ "en", "zh-Hans" or "zh-Hant".

    Chinese when Han characters are at least half as many as Latin words; Traditional when some
    characters change under opencc ``t2s`` and at least as many as change under ``s2t`` (so 台
    alone does not make a text Simplified).
    """
    han = HAN.findall(text)
    if not han or len(han) * 2 < len(LATIN_WORD.findall(text)):
        return "en"
    chars = "".join(han)
    to_simplified_ = _t2s().convert(chars)
    to_traditional_ = _s2t().convert(chars)
    traditional = sum(a != b for a, b in zip(chars, to_simplified_, strict=False))
    simplified = sum(a != b for a, b in zip(chars, to_traditional_, strict=False))
    return "zh-Hant" if traditional and traditional >= simplified else "zh-Hans"


# --- token boundaries -------------------------------------------------------------------------


def latin_units(text: str) -> list[str]:
    """Casefolded word tokens with apostrophes dropped; each punctuation mark its own token."""
    return [t.replace("'", "") for t in _LATIN_TOKEN.findall(nfkc(text).casefold())]


def _alnum(unit: str) -> bool:
    return unit.isascii() and unit.isalnum()


def is_bounded(units: Sequence[str], start: int, end: int) -> bool:
    """Whether ``units[start:end]`` neither starts nor ends inside an ASCII word or number: an
    ASCII letter or digit at an edge of the span must not continue beyond it."""
    if _alnum(units[start]) and start > 0 and _alnum(units[start - 1]):
        return False
    return not (_alnum(units[end - 1]) and end < len(units) and _alnum(units[end]))


# --- typo tolerance ---------------------------------------------------------------------------


def is_one_typo(token: str, word: str) -> bool:
    """One letter dropped, added, or two neighbours swapped (never a substituted letter: that
    is how real words such as "tracked" and "cracked" differ)."""
    if abs(len(token) - len(word)) == 1:
        return Indel.distance(token, word) == 1
    if len(token) != len(word) or token == word:
        return False
    diffs = [k for k in range(len(token)) if token[k] != word[k]]
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and token[diffs[0]] == word[diffs[1]]
        and token[diffs[1]] == word[diffs[0]]
    )


def one_typo_correction(token: str, vocabulary: Sequence[str]) -> str | None:
    """The first of the closest ``vocabulary`` words that ``token`` is one typo away from
    (:func:`is_one_typo`), or None."""
    for word, _score, _ in process.extract(
        token, vocabulary, scorer=Indel.distance, score_cutoff=2, limit=5
    ):
        if is_one_typo(token, word):
            return str(word)
    return None


def closest_spelling(word: str, vocabulary: Sequence[str], cutoff: float = 80.0) -> str | None:
    """The ``vocabulary`` word most similar to ``word`` (rapidfuzz ``fuzz.ratio``) if at least
    ``cutoff`` (0–100) similar, else None."""
    found = process.extractOne(
        word, vocabulary, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff
    )
    return None if found is None else str(found[0])


# --- Chinese word boundaries and common words -------------------------------------------------


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """jieba's tokenizer, built on first use (≈ 0.5–1.5 s: it reads the dictionary shipped in the
    package; no network)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=4096)
def cjk_word_edges(text: str) -> frozenset[int]:
    """The positions in ``text`` where jieba (HMM off, so only dictionary words) puts a word
    boundary, 0 and ``len(text)`` included."""
    edges = {0}
    pos = 0
    for word in _jieba().cut(text, HMM=False):
        pos += len(word)
        edges.add(pos)
    return frozenset(edges)


#: Zipf frequency (log10 per billion words) from which a word counts as common: "using" 5.5,
#: "parks" 3.9, "expire" 3.3; typos such as "brokn" or "defectve" are below 1.
COMMON_ZIPF = 3.0


@lru_cache(maxsize=65536)
def is_common_word(word: str, lang: str = "en") -> bool:
    """Whether ``word`` is a common word of ``lang`` (wordfreq, :data:`COMMON_ZIPF`)."""
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word, lang) >= COMMON_ZIPF)
