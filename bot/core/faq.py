"""Fuzzy matching of customer questions against the FAQ, in English and Chinese.

The FAQ content lives in ``scripts_i18n/<locale>/faq.yaml`` and is loaded by
:mod:`bot.app.faq_data`; this module only knows :class:`FaqEntry` values, so it stays free of YAML,
Jinja2 and any framework.

How a question is matched
-------------------------
1. :func:`bot.core.text.normalise` folds the text: NFKC, casefold, punctuation and symbols
   removed, whitespace collapsed, Traditional Chinese folded to Simplified (so zh-Hant and
   zh-Hans phrasings match each other's customers). Order, tracking and phone numbers (4+
   digits) are dropped; Chinese synonym phrases from the word lists are replaced (代金券 →
   优惠券), for the FAQ's phrasings and the customer's question alike.
2. The query's *script family* is decided: CJK if it contains any Han/kana/hangul character,
   otherwise Latin. A query is compared only with choices (canonical questions and phrasings)
   of the same family, from every locale; the matched phrasing's locale is reported.
3. Words that carry no meaning for the FAQ are dropped (English stop-words such as "how", "my",
   "the"; Chinese particles such as 吗/呢/了/请问), together with greetings and small talk
   ("hi", "thanks", 你好, 谢谢). A query with nothing left is small talk: outcome ``"none"``.
   These word lists are data, ``scripts_i18n/<locale>/faq_words.yaml``, loaded by
   :mod:`bot.app.faq_data` into :class:`FaqWords` and handed to :class:`FaqIndex`; every
   locale's words serve the script they are written in.
4. Scoring. Every feature — a content word (Latin, lightly stemmed, typos mapped onto the FAQ's
   vocabulary or onto a synonym with rapidfuzz, customer-care synonyms folded: parcel/package,
   ship/deliver, reimburse/refund…) or a character and character bigram (CJK) — is weighted
   by its inverse entry frequency, so "order"/订单 count less than "invoice"/发票. A choice scores

       100 × (0.7 × share of the choice's weight found in the query
              + 0.3 × share of the query's weight explained by the choice's entry)

   so a long message that contains a question still matches, while a message sharing one
   common word with a phrasing does not. For Latin script, rapidfuzz ``fuzz.ratio`` over the
   whole content string (``process.extract``, ``processor=None``) also counts when ≥ 80, which
   rescues near-copies with typos. CJK scores are put on the Latin scale (``_CJK_GAMMA``).
5. A second opinion generalises to paraphrases: the TF-IDF cosine of the query's character
   2–4-grams with every choice (:class:`_Ngrams`). An entry's score is ``_WORDS_WEIGHT`` × its
   best choice's word score + the rest × 100 × (its best cosine + ``_SECOND_SHARE`` of its
   second best), so an entry whose phrasings all resemble the question beats one lucky
   phrasing. The weights were chosen on the development half of
   ``benchmarks/data/faq_eval.yaml``, never on the held-out half (``docs/faq.md``).
6. Very short queries ("refund", "退款": one content word, or two CJK characters) never
   *answer* blindly: their score is capped half-way between the thresholds, so the bot
   confirms first ("Do you mean: …?"). Nor does a close race: the best entry must lead the
   runner-up by ``answer_margin`` to be answered directly.

The score is 0–100; ``answer_threshold`` and ``confirm_threshold`` come from the settings.

With a learned model (issue #12)
--------------------------------
The word and n-gram scores above were tuned on the development half of the evaluation set and
did not generalise to the held-out half (``docs/faq.md``). Given a :class:`TextModel` over the
entry ids and ``none`` (:mod:`bot.core.textmodel`, trained by
``python -m benchmarks.train_understanding`` on the FAQ's phrasings, labelled questions and
training examples), :meth:`FaqIndex.match` decides by the model instead: step 3 still sets small
talk aside, then each entry's score is ``model_weight`` × the model's calibrated probability
+ the rest × the score above / 100. With the default weight 1 the matcher's scoring is not run
at all (the model alone measured better, and is several times faster). The best entry is
answered at ``model_answer`` when it leads the runner-up by ``answer_margin`` points, offered
in "Do you mean …?" at ``model_confirm``, and never answered when the model's best class is
``none`` (out of scope) — though an entry that still reaches ``model_confirm`` then is offered.
The reported score is the blended score × 100.
With ~600 choices a query takes a few hundred microseconds: the features and n-grams of every
choice are dense numpy matrices (a few MB), so a query's scores are row sums and one small
product, and per-entry maxima are ``reduceat`` over choices kept side by side per entry.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.core.ports import FaqMatch
from bot.core.text import closest_spelling, detect_locale, has_cjk, normalise
from bot.core.textmodel import TextModel

__all__ = ["FaqEntry", "FaqIndex", "FaqWords", "normalise"]


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ entry in one locale; the same ``id`` names the entry in every locale."""

    id: str
    topic: str
    locale: str
    question: str
    phrasings: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class FaqWords:
    """One locale's words that the matcher sets aside or folds, as written in
    ``scripts_i18n/<locale>/faq_words.yaml`` (loaded by :mod:`bot.app.faq_data`).

    ``small_talk``: greetings, thanks and chit-chat, removed (a message of nothing else is small
    talk). ``stop_words``: words with no meaning for the FAQ, removed (Latin: whole words;
    Chinese: phrases, wherever they appear). ``particles``: single characters removed wherever
    they appear. ``not_words``: read as "not". ``not_contractions``: read as "not" when split at
    the apostrophe ("isn t") or written without it ("isnt"). ``synonyms``: stem → the stem it
    is folded onto (looked up after :func:`_stem`).
    """

    locale: str
    small_talk: tuple[str, ...] = ()
    stop_words: tuple[str, ...] = ()
    particles: tuple[str, ...] = ()
    not_words: tuple[str, ...] = ()
    not_contractions: tuple[str, ...] = ()
    synonyms: Mapping[str, str] = field(default_factory=dict)


def _by_length(phrases: Iterable[str]) -> tuple[str, ...]:
    """Distinct phrases, longest first (so 你好呀 is removed before 你好)."""
    return tuple(sorted(set(phrases), key=lambda p: (-len(p), p)))


class _WordLists:
    """Every locale's :class:`FaqWords` pooled and folded like the text they are compared with
    (:func:`normalise`); each word serves the script it is written in."""

    def __init__(self, words: Iterable[FaqWords]) -> None:
        latin_drop: set[str] = set()
        cjk_small_talk: set[str] = set()
        cjk_stop: set[str] = set()
        particles: set[str] = set()
        not_words: set[str] = set()
        contractions: set[str] = set()
        synonyms: dict[str, str] = {}
        cjk_synonyms: dict[str, str] = {}
        for lists in words:
            for source, cjk in ((lists.small_talk, cjk_small_talk), (lists.stop_words, cjk_stop)):
                for word in source:
                    folded = normalise(word)
                    if has_cjk(folded):
                        cjk.add("".join(folded.split()))
                    else:
                        latin_drop.update(folded.split())
            particles.update(normalise(p) for p in lists.particles)
            not_words.update(normalise(w) for w in lists.not_words)
            contractions.update(normalise(w) for w in lists.not_contractions)
            for key, value in lists.synonyms.items():
                folded = normalise(key)
                if has_cjk(folded):
                    cjk_synonyms["".join(folded.split())] = "".join(normalise(value).split())
                else:
                    synonyms[folded] = normalise(value)
        self.latin_drop = frozenset(latin_drop)
        self.not_words = frozenset(not_words)
        self.not_contractions = frozenset(contractions)
        self.synonyms = synonyms
        # longest first, so 折价券 is replaced before 券 could be
        self.cjk_synonyms = tuple(
            (phrase, cjk_synonyms[phrase]) for phrase in _by_length(cjk_synonyms)
        )
        self.cjk_small_talk = _by_length(cjk_small_talk)
        self.cjk_stop = _by_length(cjk_stop)
        self.particles = str.maketrans(dict.fromkeys("".join(sorted(particles)), " "))


def _fold(text: str) -> str:
    """:func:`normalise`, then order, tracking and phone numbers removed ("order 58123",
    44102这个单): they say nothing about which question is asked."""
    folded = normalise(text)
    if _LONG_NUMBER.search(folded) is None:
        return folded
    return " ".join(_LONG_NUMBER.sub(" ", folded).split())


# --- Latin script -----------------------------------------------------------------------------


def _stem(token: str) -> str:
    """A deliberately small suffix stripper, so that "shipping", "shipped" and "ships" all
    become "ship" and "arrive"/"arrived" become "arriv". Applied to queries and choices alike."""
    if len(token) <= 3 or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith("ing") and len(token) > 5:
        token = token[:-3]
    elif token.endswith("ed") and len(token) > 4:
        token = token[:-2]
    elif token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    if token.endswith("e") and len(token) > 4:
        token = token[:-1]
    if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "aeiouls":
        token = token[:-1]
    return token


def _latin_content(normalised: str, lists: _WordLists) -> list[str]:
    """Content words of a normalised Latin-script text, without stop-words and small talk.

    Negated contractions, which :func:`normalise` splits at the apostrophe ("isn t"), become
    "not", which matters for questions such as "my coupon is not applied"."""
    tokens = normalised.split()
    words: list[str] = []
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        negated = token in lists.not_contractions and (following == "t" or token.endswith("t"))
        if negated or token in lists.not_words:
            words.append("not")
        elif token not in lists.latin_drop:
            words.append(token)
    return words


def _latin_word(word: str, lists: _WordLists) -> str:
    stem = _stem(word)
    return lists.synonyms.get(stem, stem)


# --- CJK --------------------------------------------------------------------------------------


def _cjk_synonyms(normalised: str, lists: _WordLists) -> str:
    """A normalised CJK text with its synonym phrases replaced (代金券 → 优惠券), for choices
    and questions alike, before both the character features and the n-grams are taken."""
    for phrase, replacement in lists.cjk_synonyms:
        if phrase in normalised:
            normalised = normalised.replace(phrase, replacement)
    return normalised


def _cjk_content(normalised: str, lists: _WordLists) -> str:
    """The content characters of a normalised CJK text: small talk, then stop phrases (each
    longest first), then particles removed."""
    text = normalised
    for phrase in lists.cjk_small_talk:
        text = text.replace(phrase, " ")
    for phrase in lists.cjk_stop:
        text = text.replace(phrase, " ")
    text = text.translate(lists.particles)
    return "".join(text.split())


# --- the index --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Choice:
    entry_id: str
    locale: str
    text: str  # the original question or phrasing, for diagnostics


class _Family:
    """The choices of one script family with their features, as dense matrices.

    A feature is a content word (Latin) or a character or character bigram (CJK). Each feature
    is weighted by its inverse entry frequency, so words that appear in many entries ("order",
    订单) count less than words that identify one entry ("invoice", 发票).

    At :meth:`freeze` the choices are put in entry order (each entry's choices side by side,
    entries in order of first appearance), so that per-entry maxima are one numpy
    ``reduceat``; and the features become a feature × choice matrix of weights and a feature
    × entry matrix of presence, so a query's scores are a few row sums (a few hundred choices
    and a few thousand features: well under a megabyte).
    """

    def __init__(self, *, typo_tolerant: bool, gamma: float = 1.0) -> None:
        self.typo_tolerant = typo_tolerant
        self.gamma = gamma
        self.choices: list[_Choice] = []
        self.texts: list[str] = []  # content string per choice, for rapidfuzz
        self.features: list[frozenset[str]] = []
        self.normalised: list[str] = []
        self.weights: dict[str, float] = {}
        self.feature_ids: dict[str, int] = {}
        self.vocabulary: list[str] = []
        self.unknown_weight = 1.0
        self.ngrams = _Ngrams()
        self.starts: np.ndarray[Any, Any] = np.zeros(0, dtype=np.intp)
        self.sizes: np.ndarray[Any, Any] = np.zeros(0, dtype=np.intp)
        self.entry_of: np.ndarray[Any, Any] = np.zeros(0, dtype=np.intp)
        self.locales: np.ndarray[Any, Any] = np.zeros(0, dtype=str)
        self.slots: np.ndarray[Any, Any] = np.zeros((0, 2), dtype=np.intp)
        self.rows: np.ndarray[Any, Any] = np.zeros(0, dtype=np.intp)

    def add(self, choice: _Choice, text: str, features: frozenset[str], normalised: str) -> None:
        self.choices.append(choice)
        self.texts.append(text)
        self.features.append(features)
        self.normalised.append(normalised)

    def freeze(self) -> None:
        numbers: dict[str, int] = {}
        for choice in self.choices:
            numbers.setdefault(choice.entry_id, len(numbers))
        order = sorted(range(len(self.choices)), key=lambda i: numbers[self.choices[i].entry_id])
        self.choices = [self.choices[i] for i in order]
        self.texts = [self.texts[i] for i in order]
        self.features = [self.features[i] for i in order]
        for i in order:
            self.ngrams.add(self.normalised[i])
        self.normalised = []
        entry_of = np.array([numbers[c.entry_id] for c in self.choices], dtype=np.intp)
        self.entry_of = entry_of
        self.locales = np.array([c.locale for c in self.choices])
        boundaries = np.flatnonzero(np.diff(entry_of)) + 1
        self.starts = np.r_[0, boundaries].astype(np.intp) if len(entry_of) else self.starts
        self.sizes = np.diff(np.r_[self.starts, len(entry_of)]).astype(np.intp)
        # entry × slot → choice index; empty slots point one past the last choice, where the
        # score arrays get a 0 appended (scores are ≥ 0, so padding never wins a maximum)
        width = int(self.sizes.max()) if len(self.sizes) else 1
        self.slots = np.full((len(self.sizes), max(width, 2)), len(entry_of), dtype=np.intp)
        for row, (start, size) in enumerate(
            zip(self.starts.tolist(), self.sizes.tolist(), strict=True)
        ):
            self.slots[row, :size] = np.arange(start, start + size)
        self.rows = np.arange(len(self.sizes))

        entries_with: dict[str, set[int]] = {}
        for number, features in zip(entry_of.tolist(), self.features, strict=True):
            for feature in features:
                entries_with.setdefault(feature, set()).add(number)
        n = max(len(numbers), 1)
        self.weights = {f: math.log(1 + n / len(ids)) for f, ids in entries_with.items()}
        self.unknown_weight = math.log(1 + n)
        self.vocabulary = sorted(self.weights)
        self.feature_ids = {f: k for k, f in enumerate(self.vocabulary)}
        totals = [sum(self.weights[f] for f in features) for features in self.features]
        # A choice made only of common words ("where is my order" → "order") must not count
        # as fully present whenever that word appears: its weight is floored at half the
        # median choice weight.
        floor = statistics.median(totals) * _FLOOR if totals else 0.0
        self.totals = np.array([max(total, floor) for total in totals]) if totals else None
        shared = np.zeros((len(self.vocabulary), len(self.choices)))
        explained = np.zeros((len(self.vocabulary), len(numbers)))
        for i, features in enumerate(self.features):
            for feature in features:
                shared[self.feature_ids[feature], i] = self.weights[feature]
        for feature, ids in entries_with.items():
            for number in ids:
                explained[self.feature_ids[feature], number] = self.weights[feature]
        self.shared = shared  # feature × choice: the feature's weight where the choice has it
        self.explained = explained  # feature × entry: the same, per entry (any phrasing)
        self.ngrams.freeze()

    def score(self, query_text: str, query: frozenset[str]) -> np.ndarray[Any, Any]:
        """0–100 per choice (0 where nothing is shared and nothing closely resembles it).

        ``choice_cover``: the weighted share of the choice's features found in the query (the
        best phrasing of an entry is fully present → 1). ``query_cover``: the weighted share of
        the query's features found anywhere in the choice's *entry* (all its phrasings), so a
        paraphrase that borrows words from two phrasings of one entry still scores well.
        """
        scores = np.zeros(len(self.choices))
        ids = [self.feature_ids[f] for f in query if f in self.feature_ids]
        if ids:
            q_total = sum(self.weights.get(f, self.unknown_weight) for f in query)
            common = self.shared[ids].sum(axis=0)
            query_cover = self.explained[ids].sum(axis=0)[self.entry_of] / q_total
            scores = _CHOICE_WEIGHT * common / self.totals + (1 - _CHOICE_WEIGHT) * query_cover
            np.minimum(scores, 1.0, out=scores)
            if self.gamma != 1.0:
                scores **= self.gamma
            scores *= 100
            scores[common == 0] = 0.0
        if not self.typo_tolerant:
            return scores
        # Whole-string similarity rescues near-identical strings with typos (Latin script only:
        # in Chinese one character more or less often changes the meaning).
        for _, similarity, i in process.extract(
            query_text,
            self.texts,
            scorer=fuzz.ratio,
            processor=None,
            limit=3,
            score_cutoff=_SIMILAR,
        ):
            if similarity > scores[i]:
                scores[i] = similarity
        return scores


class _Ngrams:
    """Character n-grams (2 to 4) of each choice's normalised text, TF-IDF weighted: the
    second opinion that generalises to paraphrases. Word features miss a customer's own wording
    ("swap" for "exchange", 寄回去 for 退回); shared fragments of words and characters still
    find it. Sublinear term frequency, smoothed idf, unit length; stored as a dense gram ×
    choice matrix (float32: a few megabytes), so a query's cosines are one small product.
    """

    def __init__(self) -> None:
        self.vectors: list[dict[str, int]] = []
        self.ids: dict[str, int] = {}
        self.idf: np.ndarray[Any, Any] = np.zeros(0)
        self.matrix: np.ndarray[Any, Any] = np.zeros((0, 0), dtype=np.float32)
        self.size = 0

    @staticmethod
    def grams(normalised: str) -> Counter[str]:
        """How often each 2-, 3- and 4-character slice of `` text `` occurs (the text is
        normalised, so it holds no run of spaces and no slice is blank)."""
        text = f" {normalised} "
        return Counter(
            [
                text[i : i + n]
                for n in range(_NGRAM_MIN, _NGRAM_MAX + 1)
                for i in range(len(text) - n + 1)
            ]
        )

    def add(self, normalised: str) -> None:
        self.vectors.append(dict(self.grams(normalised)))

    def freeze(self) -> None:
        n = len(self.vectors)
        df: dict[str, int] = {}
        for vector in self.vectors:
            for gram in vector:
                df[gram] = df.get(gram, 0) + 1
        self.ids = {g: k for k, g in enumerate(df)}
        self.idf = np.array([math.log((1 + n) / (1 + k)) + 1 for k in df.values()])
        matrix = np.zeros((len(df), n), dtype=np.float32)
        for i, vector in enumerate(self.vectors):
            rows = np.array([self.ids[g] for g in vector], dtype=np.intp)
            weighted = (1 + np.log(np.array(list(vector.values()), dtype=np.float64))) * (
                self.idf[rows]
            )
            norm = float(np.sqrt(weighted @ weighted)) or 1.0
            matrix[rows, i] = weighted / norm
        self.matrix = matrix
        self.size = n
        self.vectors = []  # only the matrix is needed from here on

    def cosines(self, normalised: str) -> np.ndarray[Any, Any]:
        """Cosine similarity (0–1) of the query with every choice (0 where nothing is
        shared), indexed like the family's choices."""
        counts = self.grams(normalised)
        ids = self.ids
        known = [(ids[g], c) for g, c in counts.items() if g in ids]
        if not known:
            return np.zeros(self.size)
        rows = np.array([k for k, _ in known], dtype=np.intp)
        tf = np.array([c for _, c in known], dtype=np.float64)
        query = (1 + np.log(tf)) * self.idf[rows]
        query /= np.sqrt(query @ query)
        cosines: np.ndarray[Any, Any] = query.astype(np.float32) @ self.matrix[rows]
        return cosines.astype(np.float64)


#: The score appended to a family's score arrays for the empty slots of :attr:`_Family.slots`.
_PAD = np.zeros(1)

#: A run of at least this many digits is an order, tracking or phone number: it carries no
#: meaning for the FAQ and is dropped from the word features (shorter numbers stay: "100
#: pieces", "3 months") before any feature or n-gram is taken (:func:`_fold`).
_ORDER_NUMBER_DIGITS = 4
_LONG_NUMBER = re.compile(rf"[0-9]{{{_ORDER_NUMBER_DIGITS},}}")

#: Whole-string similarity (rapidfuzz ratio) at or above which a choice counts as a near-copy.
_SIMILAR = 80.0

#: Chinese paraphrases share a smaller part of their characters than English paraphrases share
#: words, so equally good CJK matches score lower. Raising CJK scores to this power puts both
#: families on one scale (a raw 36 becomes 50, a raw 72 becomes 80), so one pair of thresholds
#: serves every locale. Calibrated on tests/unit/faq_cases.yaml.
_CJK_GAMMA = 0.68

#: Floor of a choice's weight, as a share of the median choice weight.
_FLOOR = 0.5

#: Character n-gram lengths of the second opinion (:class:`_Ngrams`).
_NGRAM_MIN, _NGRAM_MAX = 2, 4

#: Weight of the word-feature score in an entry's final score; the rest is the n-gram score.
#: Chosen on the development half of benchmarks/data/faq_eval.yaml (never on held-out).
_WORDS_WEIGHT = 0.5

#: An entry's n-gram score: its best choice, plus this share of its second best, so an entry
#: whose several phrasings all resemble the question wins over one lucky phrasing.
_SECOND_SHARE = 0.3

#: Most words whose spelling :meth:`FaqIndex._spell` remembers (a bound on memory: a few MB).
_SPELLED_MAX = 50_000

#: Share of the score given to how much of the choice the query covers (the rest: how much of
#: the query the choice explains). High, so that a long message containing a question matches.
_CHOICE_WEIGHT = 0.7


def _latin_features(words: list[str]) -> frozenset[str]:
    return frozenset(words)


def _cjk_features(text: str) -> frozenset[str]:
    return frozenset(text) | frozenset(text[i : i + 2] for i in range(len(text) - 1))


def _answer_locale(text: str, locale: str) -> str:
    """The customer's locale, unless the question is written in the other script family (a
    Chinese question from an English-speaking account is answered in Chinese)."""
    detected = detect_locale(text)
    return locale if locale.startswith("zh") == detected.startswith("zh") else detected


class FaqIndex:
    """The FAQ's matcher (implements :class:`bot.core.ports.FaqMatcher`).

    All choices — the canonical question and every phrasing of every entry in every locale —
    are normalised and indexed once here; :meth:`match` only processes the query.
    """

    def __init__(
        self,
        entries: Iterable[FaqEntry],
        answer_threshold: float,
        confirm_threshold: float,
        *,
        words: Mapping[str, FaqWords],
        answer_margin: float = 0.0,
        model: TextModel | None = None,
        model_answer: float = 0.75,
        model_confirm: float = 0.2,
        model_weight: float = 1.0,
    ) -> None:
        """``words``: every locale's word lists by locale (see :class:`FaqWords`); required, as
        without them greetings would match FAQ entries.

        ``model``: the learned classifier over the entry ids and ``none``
        (:mod:`bot.core.textmodel`); with it an entry's score is ``model_weight`` × the model's
        probability + the rest × the matcher's score / 100, and the bot answers at
        ``model_answer`` and confirms at ``model_confirm`` (both 0–1) instead of the score
        thresholds. Without it the matcher decides alone."""
        if not 0 <= confirm_threshold <= answer_threshold <= 100:
            raise ValueError("need 0 <= confirm_threshold <= answer_threshold <= 100")
        if not 0 <= model_confirm <= model_answer <= 1:
            raise ValueError("need 0 <= model_confirm <= model_answer <= 1")
        if not 0 <= model_weight <= 1:
            raise ValueError("model_weight must be in [0, 1]")
        self.model = model
        self.model_answer = float(model_answer)
        self.model_confirm = float(model_confirm)
        self.model_weight = float(model_weight)
        self.answer_threshold = float(answer_threshold)
        self.confirm_threshold = float(confirm_threshold)
        self.answer_margin = float(answer_margin)
        # Short queries may confirm but never answer: cap them half-way between thresholds.
        self._short_cap = (self.answer_threshold + self.confirm_threshold) / 2
        self._words = _WordLists(words.values())
        self._spelled: dict[str, str] = {}
        self._latin = _Family(typo_tolerant=True)
        self._cjk = _Family(typo_tolerant=False, gamma=_CJK_GAMMA)
        ids: dict[str, None] = {}
        for entry in entries:
            ids.setdefault(entry.id, None)
            for text in (entry.question, *entry.phrasings):
                norm = _fold(text)
                choice = _Choice(entry.id, entry.locale, text)
                if has_cjk(norm):
                    norm = _cjk_synonyms(norm, self._words)
                    content = _cjk_content(norm, self._words)
                    if content:
                        self._cjk.add(choice, content, _cjk_features(content), norm)
                else:
                    content_words = [
                        _latin_word(w, self._words) for w in _latin_content(norm, self._words)
                    ]
                    if content_words:
                        self._latin.add(
                            choice, " ".join(content_words), _latin_features(content_words), norm
                        )
        self._latin.freeze()
        self._cjk.freeze()
        self._spellings = sorted({*self._latin.vocabulary, *self._words.synonyms})
        self.entry_ids: tuple[str, ...] = tuple(ids)
        if model is not None:
            unknown = set(model.classes) - {*ids, "none"}
            if unknown:
                raise ValueError(f"the FAQ model knows entries the FAQ has not: {sorted(unknown)}")

    # -- public API --------------------------------------------------------------------------

    def match(self, text: str, locale: str) -> FaqMatch:
        """Matches a customer's message; ``locale`` breaks ties between equal scores. The bot
        answers only when the best entry scores at least ``answer_threshold`` and leads the
        runner-up by ``answer_margin``; a close second means "Do you mean …?" first."""
        if self.model is not None:
            return self._with_model(text, locale, self.model)
        ranked = self._ranked(text, locale, limit=2)
        if not ranked:
            return FaqMatch(outcome="none", entry_id=None, score=0.0)
        score, choice = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if score >= self.answer_threshold and score - runner_up >= self.answer_margin:
            return FaqMatch("answer", choice.entry_id, score, choice.locale)
        if score >= self.confirm_threshold:
            return FaqMatch("confirm", choice.entry_id, score, choice.locale)
        return FaqMatch(outcome="none", entry_id=None, score=score)

    def _with_model(self, text: str, locale: str, model: TextModel) -> FaqMatch:
        """The matcher's scores blended with the model's probabilities (see ``__init__``).
        Small talk and questions with no content word stay ``none``; the model's ``none``
        class (out of scope) competes with the entries and is never answered, but when it
        wins and the best entry still reaches ``model_confirm`` (a calibrated probability of
        being right), that entry is offered in "Do you mean …?"; a very short question
        ("invoice", 发票) is confirmed first, never answered blindly (step 6)."""
        query = self._query(text)
        if query is None:
            return FaqMatch(outcome="none", entry_id=None, score=0.0)
        short = query[4]
        w = self.model_weight
        ranked = self._ranked(text, locale) if w < 1 else []
        matcher = {c.entry_id: (s, c.locale) for s, c in reversed(ranked)}
        p = model.probabilities(text)
        best_id, best, runner_up = "none", -1.0, -1.0
        entry_id, entry = "none", -1.0  # the best entry, whether or not "none" beats it
        for cls, prob in zip(model.classes, p.tolist(), strict=True):
            score = w * prob + (1 - w) * (matcher[cls][0] / 100 if cls in matcher else 0.0)
            if score > best:
                best_id, best, runner_up = cls, score, best
            elif score > runner_up:
                runner_up = score
            if cls != "none" and score > entry:
                entry_id, entry = cls, score
        if best_id == "none" and entry >= self.model_confirm:
            # "none" wins but an entry is still likely enough to offer: confirm it, never
            # answer it ("the shoes are a bit tight, can I get the next size up instead")
            return FaqMatch(
                "confirm",
                entry_id,
                round(100 * entry, 1),
                self._locale_of(entry_id, matcher, text, locale),
            )
        score = round(100 * best, 1)
        if best_id == "none" or best < self.model_confirm:
            return FaqMatch(outcome="none", entry_id=None, score=score)
        found_locale = self._locale_of(best_id, matcher, text, locale)
        outcome: Literal["answer", "confirm"] = "confirm"
        if (
            not short
            and best >= self.model_answer
            and 100 * (best - runner_up) >= self.answer_margin
        ):
            outcome = "answer"
        return FaqMatch(outcome, best_id, score, found_locale)

    @staticmethod
    def _locale_of(
        entry_id: str, matcher: Mapping[str, tuple[float, str]], text: str, locale: str
    ) -> str:
        """The locale to answer ``entry_id`` in: the matched phrasing's, else the question's."""
        return matcher[entry_id][1] if entry_id in matcher else _answer_locale(text, locale)

    def best_entries(self, text: str, locale: str, limit: int = 3) -> list[tuple[str, float]]:
        """The ``limit`` best distinct entries with their scores, best first (diagnostics)."""
        result: list[tuple[str, float]] = []
        seen: set[str] = set()
        for score, choice in self._ranked(text, locale):
            if choice.entry_id not in seen:
                seen.add(choice.entry_id)
                result.append((choice.entry_id, score))
                if len(result) == limit:
                    break
        return result

    # -- scoring -----------------------------------------------------------------------------

    def _ranked(
        self, text: str, locale: str, limit: int | None = None
    ) -> list[tuple[float, _Choice]]:
        """Entries that share anything with the question, best first, each with the choice that
        speaks for it; only the ``limit`` best when given."""
        query = self._query(text)
        if query is None:
            return []
        family, norm, query_text, features, short = query
        if not family.choices:
            return []
        word = family.score(query_text, features)
        gram = family.ngrams.cosines(norm)
        # Per entry (a row of its choices, padded with zeros): the choice with the best word
        # score speaks for the entry (the first such, in file order: argmax), and the two best
        # n-gram cosines count (a partial sort of each row).
        slots, rows = family.slots, family.rows
        words = np.concatenate((word, _PAD))[slots]
        best = words.argmax(axis=1)
        best_word = words[rows, best]
        speaker = slots[rows, best]
        top_two = np.partition(np.concatenate((gram, _PAD))[slots], -2, axis=1)
        first, second = top_two[:, -1], top_two[:, -2]
        grams_score = (1 - _SECOND_SHARE) * first + _SECOND_SHARE * second
        scores = _WORDS_WEIGHT * best_word + (1 - _WORDS_WEIGHT) * 100 * grams_score
        cap = self._short_cap if short else 100.0
        seen = np.flatnonzero((best_word > 0) | (first > 0))
        capped = np.rint(np.minimum(scores[seen], cap) * 10) / 10  # np.round(…, 1), cheaper
        speakers = speaker[seen]
        # Best score first; on a tie prefer the customer's locale, then file order.
        other_locale = family.locales[speakers] != locale
        order = np.lexsort((speakers, other_locale, -capped))
        if limit is not None:
            order = order[:limit]
        return [
            (score, family.choices[i])
            for score, i in zip(capped[order].tolist(), speakers[order].tolist(), strict=True)
        ]

    def _query(self, text: str) -> tuple[_Family, str, str, frozenset[str], bool] | None:
        """The question's script family, folded text, content, features and whether it is
        short; ``None`` when nothing is left once small talk and stop-words are gone."""
        norm = _fold(text)
        if has_cjk(norm):
            norm = _cjk_synonyms(norm, self._words)
            query_text = _cjk_content(norm, self._words)
            if len(query_text) < 2:
                return None
            return self._cjk, norm, query_text, _cjk_features(query_text), len(query_text) <= 2
        words = [self._spell(w) for w in _latin_content(norm, self._words)]
        query_text = " ".join(words)
        if len(query_text) < 3:
            return None
        return self._latin, norm, query_text, _latin_features(words), len(words) < 2

    def _spell(self, word: str) -> str:
        """Stems a Latin word and maps a likely typo onto the FAQ's vocabulary (remembered:
        customers reuse their words, and a rapidfuzz pass over the vocabulary is the slow
        part); a number is never a typo."""
        known = self._spelled.get(word)
        if known is not None:
            return known
        stem = _latin_word(word, self._words)
        fixed = stem
        if stem not in self._latin.weights and len(stem) >= 4 and not stem.isdigit():
            # a typo of the FAQ's own words or of a synonym ("reimbursment")
            found = closest_spelling(stem, self._spellings, cutoff=80) or stem
            fixed = self._words.synonyms.get(found, found)
        if len(self._spelled) < _SPELLED_MAX:
            self._spelled[word] = fixed
        return fixed
