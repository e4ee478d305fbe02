"""Where a term stands in its message: negated, hypothetical, or plainly said.

A :class:`Context` holds one message's units and the cues found in them, and answers the scope
questions of the decision: is there a negation cue before this term in its clause, within
``negation.scope`` units ("not broken", "没坏", "不是质量问题")? Is the term hypothetical
("what if it arrives broken", "如果坏了", "坏了的话")?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.triage.matching import Family, Hit
from bot.core.triage.model import Signal, Term

__all__ = ["Context", "TermHit"]


@dataclass(frozen=True)
class TermHit:
    """A complaint term found in the message, counted or not, with the reason why."""

    term: Term
    start: int
    end: int
    written: str  # the words as the customer wrote them (folded)
    counted: bool
    signal: Signal


@dataclass
class Context:
    """One message's units and the cues found in it."""

    units: Sequence[str]
    display: Sequence[str]  # what to show for each unit (CJK: original script)
    family: Family
    negations: list[Hit]
    hypotheticals: list[Hit]
    intensifiers: list[Hit]
    breaks: list[int]  # unit positions that end a clause
    covers: list[tuple[int, int]]  # spans of terms and sentiment words

    def _same_clause(self, a: int, b: int) -> bool:
        lo, hi = (a, b) if a <= b else (b, a)
        return not any(lo <= br < hi for br in self.breaks)

    def negation_before(self, start: int) -> Hit | None:
        """The last negation cue ending within scope before ``start`` in the same clause; a
        cue that is part of an earlier term or sentiment word ("doesn't work", 不错) is not a
        cue."""
        found: Hit | None = None
        for cue in self.negations:
            # a cue may overlap the term: 没有 + 有问题 in 没有问题; but not by the term's own
            # opening negation: 都没 + 没人接 in 都没人接 is "nobody answered", not negated
            if cue.start >= start or start - cue.end > self.family.scope:
                continue
            if cue.end > start and self.units[start] in self.family.negators:
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
