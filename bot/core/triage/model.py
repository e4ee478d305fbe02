"""What triage speaks in: the decision it returns and the lexicon it reads.

:class:`TriageDecision` with its :class:`Kind`, :class:`Severity` and :class:`Signal` reasons
(SPEC §5: every decision keeps its reasons); :class:`Lexicon` and :class:`Term`, one locale's
word lists as :mod:`bot.app.triage_data` loads them from ``scripts_i18n/<locale>/triage.yaml``;
:data:`CATEGORY_ORDER`, which category names a complaint when several of one severity match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "CATEGORY_ORDER",
    "Kind",
    "Lexicon",
    "Severity",
    "Signal",
    "Term",
    "TriageDecision",
    "category_rank",
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


def category_rank(category: str) -> tuple[int, str]:
    """Sort key of a category: its place in :data:`CATEGORY_ORDER`, unknown ones after, by
    name."""
    try:
        return (CATEGORY_ORDER.index(category), category)
    except ValueError:
        return (len(CATEGORY_ORDER), category)
