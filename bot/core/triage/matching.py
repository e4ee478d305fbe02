"""Compiling lexicons into indexes and finding their terms and cues in a message.

A message is a sequence of *units*: Latin words (:func:`bot.core.text.latin_units`) or single
Chinese characters folded to Simplified (:func:`bot.core.text.fold_chinese`). The lexicons of
one script family are compiled into a :class:`Family` of :class:`PatternIndex` values: the
complaint terms, the cues (negation, clause breaks, questions, hypotheticals, intensifiers) and
the sentiment words. :meth:`PatternIndex.scan` is a greedy longest match, left to right; a term
may hold a gap (``...``: up to 2 words, or 4 Chinese characters, never across punctuation or a
negation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.text import fold_chinese, is_bounded, latin_units
from bot.core.triage.model import Lexicon, Severity

__all__ = [
    "BREAK",
    "HYPO",
    "NEG",
    "QUESTION",
    "Family",
    "Hit",
    "PatternIndex",
    "build_family",
]

_GAP = "..."
_PUNCT_CJK = frozenset("，。！？；：、,.!?;:…～~（）()【】「」『』\"'“”‘’ \n\t")


@dataclass(frozen=True)
class _Pattern:
    parts: tuple[tuple[str, ...], ...]  # units of each part; a gap lies between parts
    payload: object


@dataclass(frozen=True)
class Hit:
    start: int
    end: int  # exclusive
    payload: object


class PatternIndex:
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

    def scan(self, units: Sequence[str]) -> list[Hit]:
        hits: list[Hit] = []
        i, n = 0, len(units)
        while i < n:
            best: Hit | None = None
            for pattern in self.by_first.get(units[i], ()):
                end = self._match_at(units, i, pattern)
                if end > i and self.word_bounds and not is_bounded(units, i, end):
                    continue
                if end > i and (best is None or end > best.end):
                    best = Hit(i, end, pattern.payload)
            if best is None:
                i += 1
            else:
                hits.append(best)
                i = best.end
        return hits


def _split_latin(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(latin_units(part)) for part in text.split(_GAP) if part.strip())


def _split_cjk(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(fold_chinese("".join(part.split()))) for part in text.split(_GAP) if part.strip()
    )


# Payloads of cue hits (an intensifier's payload is the pair (INTENS, weight)).
NEG = "neg"
BREAK = "break"
QUESTION = "question"
HYPO = "hypo"
INTENS = "intens"
PSEUDO = "pseudo"


@dataclass(frozen=True)
class Family:
    """The compiled lexicons of one script family (Latin or Chinese)."""

    cjk: bool
    terms: PatternIndex
    cues: PatternIndex
    sentiment: PatternIndex
    scope: int
    determiners: frozenset[str]
    summary_stop: frozenset[str]
    vocabulary: tuple[str, ...]  # lexicon words of 5+ letters: typo targets
    known: frozenset[str]  # every unit in the lexicon: never a typo
    not_typos: frozenset[str]
    breaks: frozenset[str]
    major_only: frozenset[str] = frozenset()  # words found only in major terms: no typo target
    negators: frozenset[str] = frozenset()  # one-unit negation cues (不, 没, not…)


def build_family(lexicons: Sequence[Lexicon], cjk: bool) -> Family:
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
    terms = PatternIndex(gap, frozen_breaks, word_bounds=cjk, no_skip=negators)
    cues = PatternIndex(0, frozen_breaks, word_bounds=cjk)
    sentiment = PatternIndex(0, frozen_breaks, word_bounds=cjk)
    seen: set[tuple[tuple[str, ...], ...]] = set()
    words: set[str] = set()
    scope = 0
    determiners: set[str] = set()
    stop: set[str] = set()
    not_typos: set[str] = set()
    major_words: set[str] = set()
    other_words: set[str] = set()
    for lex in lexicons:
        scope = max(scope, lex.negation_scope)
        for term in lex.terms:
            parts = split(term.text)
            if parts in seen:
                continue
            seen.add(parts)
            terms.add(parts, term)
            words.update(u for part in parts for u in part)
            (major_words if term.severity is Severity.MAJOR else other_words).update(
                u for part in parts for u in part
            )
        for kind, cue_list in (
            (NEG, lex.negation_cues),
            (PSEUDO, lex.negation_pseudo),
            (BREAK, lex.clause_breaks),
            (QUESTION, lex.question_cues),
            (HYPO, lex.hypothetical_cues),
        ):
            for cue in cue_list:
                cues.add(split(cue)[:1], kind)
                words.update(u for part in split(cue) for u in part)
        for word, weight in lex.intensifiers.items():
            cues.add(split(word)[:1], (INTENS, weight))
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
    return Family(
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
        major_only=frozenset(major_words - other_words),
        negators=negators,
    )
