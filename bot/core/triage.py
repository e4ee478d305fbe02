"""Complaint triage: is a message an enquiry or a complaint, how severe, and why (SPEC §5).

Pure functions over plain data. The keyword and phrase lists live in
``scripts_i18n/<locale>/triage.yaml`` and are loaded by :mod:`bot.app.triage_data` into
:class:`Lexicon` values; this module knows no YAML, no template engine and no framework.

How a message is classified
---------------------------
1. **Locale.** :func:`detect_locale`: Chinese when Han characters are at least half as many as
   Latin words; Traditional when some characters change under opencc ``t2s`` and at least as
   many as change under ``s2t`` (so 台 alone does not make a text Simplified).
2. **Units.** Latin text is cut into word tokens (casefolded, apostrophes dropped so that
   "doesn't" and "doesnt" are one word, punctuation kept as its own token); Chinese text is
   folded to Simplified with opencc and read character by character. The Chinese lexicons
   (zh-Hans and zh-Hant, both folded) form one index, the Latin ones another.
3. **Matching.** Greedy longest match, left to right, of the complaint terms; a term may hold
   a gap (``...``: up to 2 words, or 4 Chinese characters, never across punctuation). English
   words of five letters or more that are one dropped, added or swapped letter away from a
   lexicon word are read as that word ("brokn", "defecitve"), unless listed as ``not_typos``.
4. **Scope.** A term preceded in its clause by a negation cue within ``negation.scope`` units
   ("not broken", "没坏", "不是质量问题") is *negated*: recorded, never counted. A quality or
   general term after a hypothetical cue in its clause ("what if it arrives broken",
   "如果坏了") is *hypothetical*: recorded, not counted (a threat to sue still counts). A
   *weak* term (refund, 退款…) counts only outside a question, so "what is your refund
   policy?" stays an enquiry.
5. **Negativity** 0–1 from the lexicon's sentiment words: negative weights minus half the
   positive ones, scaled by intensifiers and diminishers before the word, flipped by a
   negation cue before it (a negated positive counts as negative, a negated negative as
   mildly positive), plus a little for "!!" and SHOUTED words when something is negative;
   ``negativity = 1 − exp(−raw / scale)``.
6. **Decision.** The highest counted severity wins (major > quality > general); within it the
   category that comes first in the category order. With no counted term, negativity at or
   above ``complaint_negativity`` makes a general complaint ("early warning"); otherwise the
   message is an enquiry with no severity.
7. **Summary.** The item reported, from the text: the noun after a determiner before the
   matched term ("the kettle arrived broken" → "broken kettle") or after it ("a broken
   kettle"); in Chinese the characters before the term back to a particle
   ("收到的水壶是坏的" → "水壶坏了"). ``None`` when the text names no item.

With the shipped lexicons a message takes a few tens of microseconds.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache

import opencc
from rapidfuzz import process
from rapidfuzz.distance import Indel

__all__ = [
    "CATEGORY_ORDER",
    "Kind",
    "Lexicon",
    "Priority",
    "Severity",
    "Signal",
    "Term",
    "Triage",
    "TriageDecision",
    "detect_locale",
    "latin_units",
    "priority",
    "raise_for_repeat",
]


class Kind(StrEnum):
    ENQUIRY = "enquiry"
    COMPLAINT = "complaint"


class Severity(StrEnum):
    """Complaint severity, ordered general < quality < major (not alphabetically)."""

    GENERAL = "general"
    QUALITY = "quality"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self.value]

    def __lt__(self, other: str) -> bool:
        if isinstance(other, Severity):
            return self.rank < other.rank
        return str.__lt__(self, other)

    def __le__(self, other: str) -> bool:
        if isinstance(other, Severity):
            return self.rank <= other.rank
        return str.__le__(self, other)

    def __gt__(self, other: str) -> bool:
        if isinstance(other, Severity):
            return self.rank > other.rank
        return str.__gt__(self, other)

    def __ge__(self, other: str) -> bool:
        if isinstance(other, Severity):
            return self.rank >= other.rank
        return str.__ge__(self, other)


_SEVERITY_RANK = {"general": 0, "quality": 1, "major": 2}
_SEVERITIES = (Severity.GENERAL, Severity.QUALITY, Severity.MAJOR)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


_PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)

# Within one severity the first category in this order names the complaint (the cause before
# its consequence: a damaged kettle before the refund asked for). Unknown categories follow.
CATEGORY_ORDER: tuple[str, ...] = (
    "safety",
    "fraud",
    "privacy",
    "legal",
    "regulator",
    "media",
    "abuse",
    "repeat",
    "damaged",
    "defective",
    "wrong_item",
    "missing_item",
    "refund_return",
    "delivery",
    "service",
    "billing",
)


@dataclass(frozen=True)
class Signal:
    """One reason behind a decision.

    ``kind``: "keyword" or "phrase" (a counted term), "negated", "hypothetical", "question"
    (a weak term inside a question, not counted), "negativity" (``term`` is the score,
    ``detail`` the words behind it), "repeat", "tier".
    """

    kind: str
    term: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "term": self.term, "detail": self.detail}


@dataclass(frozen=True)
class TriageDecision:
    kind: Kind
    severity: Severity | None
    negativity: float
    locale: str
    signals: tuple[Signal, ...]
    category: str | None
    summary: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "severity": None if self.severity is None else self.severity.value,
            "negativity": self.negativity,
            "locale": self.locale,
            "signals": [s.to_json() for s in self.signals],
            "category": self.category,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Term:
    """One complaint keyword or phrase as written in the lexicon ("..." marks a short gap)."""

    text: str
    category: str
    severity: Severity
    weak: bool = False
    label: str = ""  # how the summary names the problem: "broken" (en), "坏了" (zh)


@dataclass(frozen=True)
class Lexicon:
    """Everything triage knows about one locale; built by :mod:`bot.app.triage_data`."""

    locale: str
    terms: tuple[Term, ...]
    negation_cues: tuple[str, ...] = ()
    negation_scope: int = 3
    negation_pseudo: tuple[str, ...] = ()  # hold a cue, negate nothing ("can't believe")
    clause_breaks: tuple[str, ...] = ()
    question_cues: tuple[str, ...] = ()  # en: first word of a question; zh: anywhere
    hypothetical_cues: tuple[str, ...] = ()
    negative: Mapping[str, float] = field(default_factory=dict)
    positive: Mapping[str, float] = field(default_factory=dict)
    intensifiers: Mapping[str, float] = field(default_factory=dict)  # <1 diminishes
    determiners: tuple[str, ...] = ()  # summary: the word before the item ("my", "the")
    summary_stop: tuple[str, ...] = ()  # summary: words that end or cannot be the item
    not_typos: tuple[str, ...] = ()  # English words never read as a typo of a lexicon word


# --- text units ---------------------------------------------------------------------------

_LATIN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[^\sa-z0-9]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_GAP = "..."
_PUNCT_CJK = frozenset("，。！？；：、,.!?;:…～~（）()【】「」『』\"'“”‘’ \n\t")


# Simplified variants that opencc's t2s leaves different from common Simplified usage
# (帳 → 帐, while Simplified writers use 账 for accounts: 到账). Matching only.
_VARIANTS = str.maketrans({"帐": "账"})


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")


def latin_units(text: str) -> list[str]:
    """Casefolded word tokens with apostrophes dropped; each punctuation mark its own token."""
    return [t.replace("'", "") for t in _LATIN_TOKEN.findall(_nfkc(text).casefold())]


def fold_chinese(text: str) -> str:
    """NFKC, casefold, Traditional→Simplified, keeping one character per character so that
    positions in the result are positions in the original."""
    base = _nfkc(text).casefold()
    folded = _t2s().convert(base)
    if len(folded) != len(base):
        folded = "".join(_t2s().convert(ch) for ch in base)
    return str(folded).translate(_VARIANTS)


def detect_locale(text: str) -> str:
    """ "en", "zh-Hans" or "zh-Hant" (see the module documentation)."""
    han = _HAN.findall(text)
    if not han or len(han) * 2 < len(_LATIN_WORD.findall(text)):
        return "en"
    chars = "".join(han)
    to_simplified = _t2s().convert(chars)
    to_traditional = _s2t().convert(chars)
    traditional = sum(a != b for a, b in zip(chars, to_simplified, strict=False))
    simplified = sum(a != b for a, b in zip(chars, to_traditional, strict=False))
    return "zh-Hant" if traditional and traditional >= simplified else "zh-Hans"


# --- matching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    parts: tuple[tuple[str, ...], ...]  # units of each part; a gap lies between parts
    payload: object


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int  # exclusive
    payload: object


class _Index:
    """Patterns keyed by their first unit; greedy longest match over a unit sequence."""

    def __init__(
        self,
        gap: int,
        breaks: frozenset[str],
        word_bounds: bool = False,
        no_skip: frozenset[str] = frozenset(),
    ) -> None:
        self.gap = gap
        self.breaks = breaks | no_skip  # a gap never spans these (clause ends, negations)
        self.word_bounds = word_bounds  # CJK: "sb" must not match inside "usb", nor 315 in 1315
        self.by_first: dict[str, list[_Pattern]] = {}

    def add(self, parts: tuple[tuple[str, ...], ...], payload: object) -> None:
        if not parts or not parts[0]:
            return
        self.by_first.setdefault(parts[0][0], []).append(_Pattern(parts, payload))

    def _match_at(self, units: Sequence[str], i: int, pattern: _Pattern) -> int:
        pos = i
        for n, part in enumerate(pattern.parts):
            if n == 0:
                if tuple(units[pos : pos + len(part)]) != part:
                    return -1
                pos += len(part)
                continue
            for skip in range(self.gap + 1):
                if skip and (pos + skip > len(units) or units[pos + skip - 1] in self.breaks):
                    return -1
                at = pos + skip
                if tuple(units[at : at + len(part)]) == part:
                    pos = at + len(part)
                    break
            else:
                return -1
        return pos

    def scan(self, units: Sequence[str]) -> list[_Hit]:
        hits: list[_Hit] = []
        i, n = 0, len(units)
        while i < n:
            best: _Hit | None = None
            for pattern in self.by_first.get(units[i], ()):
                end = self._match_at(units, i, pattern)
                if end > i and self.word_bounds and not _bounded(units, i, end):
                    continue
                if end > i and (best is None or end > best.end):
                    best = _Hit(i, end, pattern.payload)
            if best is None:
                i += 1
            else:
                hits.append(best)
                i = best.end
        return hits


def _alnum(unit: str) -> bool:
    return unit.isascii() and unit.isalnum()


def _bounded(units: Sequence[str], start: int, end: int) -> bool:
    """An ASCII letter or digit at an edge of a match must not continue a word or number."""
    if _alnum(units[start]) and start > 0 and _alnum(units[start - 1]):
        return False
    return not (_alnum(units[end - 1]) and end < len(units) and _alnum(units[end]))


def _split_latin(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(latin_units(part)) for part in text.split(_GAP) if part.strip())


def _split_cjk(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(fold_chinese("".join(part.split()))) for part in text.split(_GAP) if part.strip()
    )


_NEG = "neg"
_BREAK = "break"
_QUESTION = "question"
_HYPO = "hypo"
_INTENS = "intens"
_PSEUDO = "pseudo"


@dataclass(frozen=True)
class _Family:
    """The compiled lexicons of one script family (Latin or Chinese)."""

    cjk: bool
    terms: _Index
    cues: _Index
    sentiment: _Index
    scope: int
    determiners: frozenset[str]
    summary_stop: frozenset[str]
    vocabulary: tuple[str, ...]  # lexicon words of 5+ letters: typo targets
    known: frozenset[str]  # every unit in the lexicon: never a typo
    not_typos: frozenset[str]
    breaks: frozenset[str]


def _build_family(lexicons: Sequence[Lexicon], cjk: bool) -> _Family:
    split = _split_cjk if cjk else _split_latin
    breaks: set[str] = set(_PUNCT_CJK) if cjk else set(".,;:!?()")
    for lex in lexicons:
        breaks.update(p[0][0] for p in map(split, lex.clause_breaks) if len(p) == 1 == len(p[0]))
    gap = 4 if cjk else 2
    frozen_breaks = frozenset(breaks)
    negators = frozenset(
        p[0][0]
        for lex in lexicons
        for p in map(split, lex.negation_cues)
        if len(p) == 1 and len(p[0]) == 1
    )
    terms = _Index(gap, frozen_breaks, word_bounds=cjk, no_skip=negators)
    cues = _Index(0, frozen_breaks, word_bounds=cjk)
    sentiment = _Index(0, frozen_breaks, word_bounds=cjk)
    seen: set[tuple[tuple[str, ...], ...]] = set()
    words: set[str] = set()
    scope = 0
    determiners: set[str] = set()
    stop: set[str] = set()
    not_typos: set[str] = set()
    for lex in lexicons:
        scope = max(scope, lex.negation_scope)
        for term in lex.terms:
            parts = split(term.text)
            if parts in seen:
                continue
            seen.add(parts)
            terms.add(parts, term)
            words.update(u for part in parts for u in part)
        for kind, cue_list in (
            (_NEG, lex.negation_cues),
            (_PSEUDO, lex.negation_pseudo),
            (_BREAK, lex.clause_breaks),
            (_QUESTION, lex.question_cues),
            (_HYPO, lex.hypothetical_cues),
        ):
            for cue in cue_list:
                cues.add(split(cue)[:1], kind)
                words.update(u for part in split(cue) for u in part)
        for word, weight in lex.intensifiers.items():
            cues.add(split(word)[:1], (_INTENS, weight))
            words.update(u for part in split(word) for u in part)
        for polarity, table in ((-1.0, lex.negative), (1.0, lex.positive)):
            for word, weight in table.items():
                sentiment.add(split(word)[:1], (polarity * weight, word))
                words.update(u for part in split(word) for u in part)
        fold = fold_chinese if cjk else (lambda s: " ".join(latin_units(s)))
        determiners.update(fold(d) for d in lex.determiners)
        stop.update(fold(s) for s in lex.summary_stop)
        not_typos.update(fold(w) for w in lex.not_typos)
    vocabulary = () if cjk else tuple(sorted(w for w in words if len(w) >= 5 and w.isalpha()))
    return _Family(
        cjk=cjk,
        terms=terms,
        cues=cues,
        sentiment=sentiment,
        scope=scope or 3,
        determiners=frozenset(determiners),
        summary_stop=frozenset(stop),
        vocabulary=vocabulary,
        known=frozenset(words),
        not_typos=frozenset(not_typos),
        breaks=frozen_breaks,
    )


def _is_typo_of(token: str, word: str) -> bool:
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


# --- decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TermHit:
    term: Term
    start: int
    end: int
    written: str  # the words as the customer wrote them (folded)
    counted: bool
    signal: Signal


@dataclass
class _Context:
    """One message's units and the cues found in it."""

    units: Sequence[str]
    display: Sequence[str]  # what to show for each unit (CJK: original script)
    family: _Family
    negations: list[_Hit]
    hypotheticals: list[_Hit]
    intensifiers: list[_Hit]
    breaks: list[int]  # unit positions that end a clause
    covers: list[tuple[int, int]]  # spans of terms and sentiment words

    def _same_clause(self, a: int, b: int) -> bool:
        lo, hi = (a, b) if a <= b else (b, a)
        return not any(lo <= br < hi for br in self.breaks)

    def negation_before(self, start: int) -> _Hit | None:
        """The last negation cue ending within scope before ``start`` in the same clause; a
        cue that is part of an earlier term or sentiment word ("doesn't work", 不错) is not a
        cue."""
        found: _Hit | None = None
        for cue in self.negations:
            # a cue may overlap the term: 没有 + 有问题 in 没有问题
            if cue.start >= start or start - cue.end > self.family.scope:
                continue
            if not self._same_clause(min(cue.end, start), start):
                continue
            if any(
                s <= cue.start and cue.end <= e <= start and e - s > cue.end - cue.start
                for s, e in self.covers
            ):
                continue
            found = cue
        return found

    def hypothetical(self, start: int, end: int) -> bool:
        """A hypothetical cue before the term in its clause ("if it arrives broken"); in
        Chinese also after it ("坏了的话")."""
        for cue in self.hypotheticals:
            if cue.end <= start and self._same_clause(cue.end, start):
                return True
            if self.family.cjk and cue.start >= end and self._same_clause(end, cue.start):
                return True
        return False


class Triage:
    """Classifies messages with the lexicons of every locale; build once, call often."""

    def __init__(
        self,
        lexicons: Mapping[str, Lexicon],
        *,
        complaint_negativity: float = 0.7,
        negativity_scale: float = 1.5,
        positive_discount: float = 0.5,
    ) -> None:
        if not 0 < complaint_negativity <= 1:
            raise ValueError("complaint_negativity must be in (0, 1]")
        if negativity_scale <= 0:
            raise ValueError("negativity_scale must be positive")
        self.complaint_negativity = complaint_negativity
        self.negativity_scale = negativity_scale
        self.positive_discount = positive_discount
        chinese = [lex for code, lex in lexicons.items() if code.startswith("zh")]
        latin = [lex for code, lex in lexicons.items() if not code.startswith("zh")]
        self._latin = _build_family(latin, cjk=False)
        self._cjk = _build_family(chinese, cjk=True)
        self._corrections: dict[str, str] = {}

    # -- public --------------------------------------------------------------------------

    def classify(self, text: str) -> TriageDecision:
        locale = detect_locale(text)
        family = self._cjk if locale.startswith("zh") else self._latin
        if family.cjk:
            units: list[str] = list(fold_chinese(text))
            shown = _nfkc(text)  # the customer's own characters, position for position
            display: Sequence[str] = shown if len(shown) == len(units) else units
        else:
            units = [self._correct(u) for u in latin_units(text)]
            display = units
        cues = family.cues.scan(units)
        term_hits = family.terms.scan(units)
        sentiment_hits = family.sentiment.scan(units)
        breaks = sorted(
            [h.start for h in cues if h.payload == _BREAK]
            + [i for i, u in enumerate(units) if u in family.breaks]
        )
        ctx = _Context(
            units=units,
            display=display,
            family=family,
            negations=[h for h in cues if h.payload == _NEG],
            hypotheticals=[h for h in cues if h.payload == _HYPO],
            intensifiers=[h for h in cues if isinstance(h.payload, tuple)],
            breaks=breaks,
            covers=[(h.start, h.end) for h in (*term_hits, *sentiment_hits)],
        )
        question = self._is_question(text, cues, family)
        hits = self._terms(ctx, term_hits, question)
        negativity, words = self._negativity(text, ctx, sentiment_hits)

        # weak terms (refund, 退款) decide only when nothing stronger was said: "still waiting
        # for my refund" is about the wait, not the product
        counted = [h for h in hits if h.counted and not h.term.weak] or [
            h for h in hits if h.counted
        ]
        signals = [h.signal for h in hits]
        signals.append(Signal("negativity", f"{negativity:.2f}", ", ".join(words)))
        if counted:
            severity = max(h.term.severity for h in counted)
            top = [h for h in counted if h.term.severity == severity]
            category = min((h.term.category for h in top), key=_category_rank)
            lead = next(h for h in top if h.term.category == category)
            summary = self._summary(ctx, lead, locale, counted)
            return TriageDecision(
                Kind.COMPLAINT, severity, negativity, locale, tuple(signals), category, summary
            )
        if negativity >= self.complaint_negativity:
            signals.append(Signal("early_warning", f"{negativity:.2f}", "negative sentiment"))
            return TriageDecision(
                Kind.COMPLAINT, Severity.GENERAL, negativity, locale, tuple(signals), None, None
            )
        return TriageDecision(Kind.ENQUIRY, None, negativity, locale, tuple(signals), None, None)

    # -- steps ---------------------------------------------------------------------------

    def _correct(self, token: str) -> str:
        known = self._corrections.get(token)
        if known is not None:
            return known
        fixed = token
        vocab = self._latin.vocabulary
        if (
            len(token) >= 5
            and token.isalpha()
            and token not in self._latin.not_typos
            and token not in self._latin.terms.by_first
            and token not in self._latin.known
        ):
            for word, _score, _ in process.extract(
                token, vocab, scorer=Indel.distance, score_cutoff=2, limit=5
            ):
                if _is_typo_of(token, word):
                    fixed = word
                    break
        if len(self._corrections) < 100_000:
            self._corrections[token] = fixed
        return fixed

    @staticmethod
    def _is_question(text: str, cues: Sequence[_Hit], family: _Family) -> bool:
        if text.rstrip().endswith(("?", "？")):
            return True
        if family.cjk:
            return any(h.payload == _QUESTION for h in cues)
        return any(h.payload == _QUESTION and h.start == 0 for h in cues)

    def _terms(self, ctx: _Context, term_hits: Sequence[_Hit], question: bool) -> list[_TermHit]:
        joiner = "" if ctx.family.cjk else " "
        result: list[_TermHit] = []
        for hit in term_hits:
            term = hit.payload
            assert isinstance(term, Term)
            written = joiner.join(ctx.display[hit.start : hit.end])
            multi = len(written) > 2 if ctx.family.cjk else " " in written
            detail = f"{term.category}/{term.severity.value}"
            neg = ctx.negation_before(hit.start)
            if neg is not None:
                cue = joiner.join(ctx.display[neg.start : neg.end])
                signal = Signal("negated", written, f"{detail}, negated by {cue!r}")
            elif term.severity is not Severity.MAJOR and ctx.hypothetical(hit.start, hit.end):
                signal = Signal("hypothetical", written, detail)
            elif term.weak and question:
                signal = Signal("question", written, f"{detail}, weak term in a question")
            else:
                signal = Signal("phrase" if multi else "keyword", written, detail)
                result.append(_TermHit(term, hit.start, hit.end, written, True, signal))
                continue
            result.append(_TermHit(term, hit.start, hit.end, written, False, signal))
        return result

    def _negativity(
        self, text: str, ctx: _Context, sentiment_hits: Sequence[_Hit]
    ) -> tuple[float, list[str]]:
        negative = positive = 0.0
        words: list[str] = []
        for hit in sentiment_hits:
            payload = hit.payload
            assert isinstance(payload, tuple)
            weight, word = float(payload[0]), str(payload[1])
            factor = 1.0
            for cue in ctx.intensifiers:
                if cue.end <= hit.start and hit.start - cue.end <= 1:
                    assert isinstance(cue.payload, tuple)
                    factor *= float(cue.payload[1])
            if ctx.negation_before(hit.start) is not None:
                weight = -weight if weight > 0 else -weight * 0.5
                word = f"不{word}" if ctx.family.cjk else f"not {word}"
            value = weight * factor
            if value < 0:
                negative -= value
                words.append(word)
            else:
                positive += value
        if negative > 0:
            negative += min(text.count("!") + text.count("！"), 3) * 0.2
            if not ctx.family.cjk:
                shouted = sum(1 for w in _LATIN_WORD.findall(text) if len(w) >= 3 and w.isupper())
                negative += min(shouted, 3) * 0.2
        raw = max(negative - self.positive_discount * positive, 0.0)
        return round(1.0 - math.exp(-raw / self.negativity_scale), 3), words

    def _summary(
        self,
        ctx: _Context,
        lead: _TermHit,
        locale: str,
        counted: Sequence[_TermHit],
    ) -> str | None:
        units, family = ctx.units, ctx.family
        # the lead term names the problem; a labelled term of the same severity may stand in
        # ("refund" says nothing of the item, "broken" does)
        labelled = [lead] + [h for h in counted if h.term.severity == lead.term.severity]
        hit = next((h for h in labelled if h.term.label), None)
        if hit is None:
            return None
        label = hit.term.label
        if family.cjk:
            span = self._item_cjk(units, hit, family)
            if span is None:
                return None
            chars = "".join(ctx.display[span[0] : span[1]])
            return f"{chars}{_s2t().convert(label) if locale == 'zh-Hant' else label}"
        item = self._item_latin(units, hit, family)
        return f"{label} {item}" if item else None

    @staticmethod
    def _item_latin(units: Sequence[str], lead: _TermHit, family: _Family) -> str | None:
        def usable(word: str) -> bool:
            return word.isalpha() and word not in family.summary_stop

        # "a broken kettle": determiner before the term, a noun right after it
        after = lead.end
        if (
            lead.start > 0
            and units[lead.start - 1] in family.determiners
            and after < len(units)
            and usable(units[after])
        ):
            return units[after]
        # "the kettle arrived broken": the nearest determiner before, in the same clause
        for d in range(lead.start - 1, -1, -1):
            unit = units[d]
            if unit in family.breaks:
                break
            if unit in family.determiners:
                words: list[str] = []
                for w in units[d + 1 : lead.start]:
                    if not usable(w) or len(words) == 2:
                        break
                    words.append(w)
                if words:
                    return " ".join(words)
        return None

    @staticmethod
    def _item_cjk(units: Sequence[str], lead: _TermHit, family: _Family) -> tuple[int, int] | None:
        """The span of the item's characters before the term, or None."""
        begin = end = lead.start
        while begin > 0:
            unit = units[begin - 1]
            if unit in family.breaks or unit in family.determiners or not _HAN.match(unit):
                break
            begin -= 1
        # strip function words at the end ("水壶是" → "水壶") and the start ("收到" …)
        stops = sorted((s for s in family.summary_stop if s), key=len, reverse=True)
        changed = True
        while begin < end and changed:
            changed = False
            item = "".join(units[begin:end])
            for stop in stops:
                if item.endswith(stop):
                    end, changed = end - len(stop), True
                    break
                if item.startswith(stop):
                    begin, changed = begin + len(stop), True
                    break
        return (begin, end) if 1 < end - begin <= 8 else None


def _category_rank(category: str) -> tuple[int, str]:
    try:
        return (CATEGORY_ORDER.index(category), category)
    except ValueError:
        return (len(CATEGORY_ORDER), category)


# --- follow-up rules --------------------------------------------------------------------------


def raise_for_repeat(
    decision: TriageDecision, contacts_about_open_issue: int, threshold: int = 3
) -> TriageDecision:
    """From the ``threshold``-th contact about the same open issue (this message included),
    severity goes up one step: none → general, general → quality, quality → major (SPEC §5).
    Major stays major; the signal is recorded either way."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    if contacts_about_open_issue < threshold:
        return decision
    before = decision.severity
    if before is None:
        after = Severity.GENERAL
    else:
        after = _SEVERITIES[min(before.rank + 1, len(_SEVERITIES) - 1)]
    was = "none" if before is None else before.value
    signal = Signal(
        "repeat",
        str(contacts_about_open_issue),
        f"contact {contacts_about_open_issue} about the same open issue: {was} → {after.value}",
    )
    return replace(
        decision,
        kind=Kind.COMPLAINT,
        severity=after,
        category=decision.category or "repeat",
        signals=(*decision.signals, signal),
    )


_BASE_PRIORITY: dict[Severity | None, Priority] = {
    None: Priority.LOW,
    Severity.GENERAL: Priority.NORMAL,
    Severity.QUALITY: Priority.NORMAL,
    Severity.MAJOR: Priority.URGENT,
}


def priority(severity: Severity | None, tier: str | None) -> Priority:
    """Severity combined with the customer's tier (SPEC §3, §5).

    enquiry → low, general and quality → normal, major → urgent; a "high" tier customer's
    case goes one step up (low → normal → high; urgent stays urgent). Severity is unchanged.
    """
    base = _BASE_PRIORITY[severity]
    if tier == "high":
        return _PRIORITIES[min(_PRIORITIES.index(base) + 1, len(_PRIORITIES) - 1)]
    return base
