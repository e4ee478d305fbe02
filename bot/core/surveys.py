"""Satisfaction surveys by tier (SPEC §8, issue #10): NPS 0–10, then an optional comment.

The playbook's survey rules (``content: nps``: high quarterly, mid half-yearly, base yearly)
send a marketing-guarded question with eleven buttons in two rows (0–5, 6–10), payloads
``nps:<survey>:<score>``; the survey row (:class:`Survey`) is written with its message, once
per engagement key, with the customer's tier at that moment (the report groups by it).

Answering (:func:`decide`, pure):

* the first press records the score; the customer is thanked and asked for an optional comment
  — their next text message within ``comment_minutes`` of the answer (the dialogue state is
  stored, so any worker can take it), or the "No comment" button ``nps:<survey>:none``;
* **a later press within the same window may change the score** (a slip of the thumb is
  corrected; the comment prompt is not repeated); pressing the same score again changes
  nothing; after the window the first answer stands and the customer is told so kindly;
* the buttons stop working ``answer_days`` after the send.

A score of 0–6 (a detractor) opens an ``nps_followup`` staff task in the supervisors' chat, once
per survey — even if the customer later changes it to a higher score within the window (a
person looks at it either way).

NPS over a set of answers is %promoters (9–10) − %detractors (0–6), passives being 7–8
(:func:`nps_summary`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

PREFIX = "nps:"
NO_COMMENT = "none"
SCORES = range(0, 11)
ROWS = (range(0, 6), range(6, 11))
"""The buttons, two rows: 0–5 and 6–10."""


@dataclass(slots=True)
class Survey:
    """One survey sent to one customer (its message's key is unique), and their answer."""

    customer_id: int
    rule_id: str
    period: str
    tier: str
    """The customer's tier when it was sent (``prospect`` when none)."""
    sent_at: datetime
    score: int | None = None
    answered_at: datetime | None = None
    comment: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SurveyPolicy:
    comment_minutes: int = 60
    """After an answer, how long the next text message is its comment, and a new press may
    change the score."""
    answer_days: int = 30
    """How long after the send the score buttons work."""
    detractor_at_most: int = 6
    comment_max_chars: int = 1000


class Answer(StrEnum):
    RECORDED = "recorded"
    """The first answer."""
    CHANGED = "changed"
    """A different score within the comment window."""
    SAME = "same"
    """The same score again: nothing changes."""
    TOO_LATE = "too_late"
    """The answer window (or, for a change, the comment window) has passed."""


def decide(survey: Survey, score: int, now: datetime, policy: SurveyPolicy) -> Answer:
    """What a press of `score` does to `survey` (see the module docstring)."""
    if survey.score is None:
        if now - survey.sent_at > timedelta(days=policy.answer_days):
            return Answer.TOO_LATE
        return Answer.RECORDED
    if survey.score == score:
        return Answer.SAME
    if comment_open(survey, now, policy):
        return Answer.CHANGED
    return Answer.TOO_LATE


def comment_open(survey: Survey, now: datetime, policy: SurveyPolicy) -> bool:
    """Whether the survey's comment (and a change of score) is still accepted."""
    answered = survey.answered_at
    return answered is not None and now - answered <= timedelta(minutes=policy.comment_minutes)


def is_detractor(score: int, policy: SurveyPolicy) -> bool:
    return score <= policy.detractor_at_most


def score_data(survey_id: int, score: int) -> str:
    return f"{PREFIX}{survey_id}:{score}"


def no_comment_data(survey_id: int) -> str:
    return f"{PREFIX}{survey_id}:{NO_COMMENT}"


def parse(data: str) -> tuple[int, int | None] | None:
    """``"nps:7:10"`` → ``(7, 10)``; ``"nps:7:none"`` → ``(7, None)``; anything else → None."""
    parts = data.removeprefix(PREFIX).split(":") if data.startswith(PREFIX) else []
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    if parts[1] == NO_COMMENT:
        return int(parts[0]), None
    if parts[1].isdigit() and int(parts[1]) in SCORES:
        return int(parts[0]), int(parts[1])
    return None


@dataclass(frozen=True, slots=True)
class NpsLine:
    """One tier's (or the total's) figures for ``rapport report nps``."""

    tier: str
    sent: int
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def response_rate(self) -> float | None:
        """Responses per survey sent, in percent; None when none was sent."""
        return 100.0 * self.responses / self.sent if self.sent else None

    @property
    def nps(self) -> float | None:
        """%promoters − %detractors of the responses; None without responses."""
        if not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses


def nps_line(tier: str, surveys: Iterable[Survey]) -> NpsLine:
    chosen = list(surveys)
    scores = [s.score for s in chosen if s.score is not None]
    return NpsLine(
        tier=tier,
        sent=len(chosen),
        responses=len(scores),
        promoters=sum(1 for s in scores if s >= 9),
        passives=sum(1 for s in scores if 7 <= s <= 8),
        detractors=sum(1 for s in scores if s <= 6),
    )


TIER_ORDER = ("high", "mid", "base", "prospect")


def nps_summary(surveys: Iterable[Survey]) -> list[NpsLine]:
    """Per tier (high, mid, base, then any other, each only if it was surveyed), then
    ``total``."""
    chosen = list(surveys)
    tiers = sorted(
        {s.tier for s in chosen},
        key=lambda t: (TIER_ORDER.index(t) if t in TIER_ORDER else len(TIER_ORDER), t),
    )
    lines = [nps_line(tier, (s for s in chosen if s.tier == tier)) for tier in tiers]
    return [*lines, nps_line("total", chosen)]


_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """``"2026Q4"`` → [2026-10-01, 2027-01-01) in UTC; ValueError naming the expected form."""
    match = _QUARTER.match(quarter.strip())
    if match is None:
        raise ValueError(f"--quarter {quarter!r} is not a quarter like 2026Q4 (year, Q, 1 to 4)")
    year, number = int(match.group(1)), int(match.group(2))
    if year < 1:
        raise ValueError(f"--quarter {quarter!r}: the year must be 1 or later")
    start = datetime(year, 3 * number - 2, 1, tzinfo=UTC)
    end = datetime(year + (number == 4), 1 if number == 4 else 3 * number + 1, 1, tzinfo=UTC)
    return start, end
