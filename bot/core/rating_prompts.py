"""The rating feature's messages and button payloads, in one place.

The 1–5 rating question sent after a resolution (buttons ``rate:<ticket>:<score>`` and
``rate:<ticket>:skip``), the after-sales revisit (``rv:<ticket>:ok`` / ``rv:<ticket>:problem``),
and how a comment is kept. The ticket and rating services word these; the rating dialogue
(:mod:`bot.flows.rating`) and its handlers read the payloads back.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.messages import Button, Reply
from bot.core.ratings import SCORES, RevisitAnswer, is_score

PREFIX = "rate:"
REVISIT_PREFIX = "rv:"
SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Pending:
    """A rating whose optional comment is awaited."""

    ticket_id: int
    score: int


def score_data(ticket_id: int, score: int) -> str:
    return f"{PREFIX}{ticket_id}:{score}"


def skip_data(ticket_id: int) -> str:
    return f"{PREFIX}{ticket_id}:{SKIP}"


def parse_rate(data: str) -> tuple[int, int | None] | None:
    """``"rate:42:5"`` → ``(42, 5)``; ``"rate:42:skip"`` → ``(42, None)``; else None."""
    parts = data.removeprefix(PREFIX).split(":") if data.startswith(PREFIX) else []
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    if parts[1] == SKIP:
        return int(parts[0]), None
    if parts[1].isdigit() and is_score(int(parts[1])):
        return int(parts[0]), int(parts[1])
    return None


def revisit_data(ticket_id: int, answer: RevisitAnswer) -> str:
    return f"{REVISIT_PREFIX}{ticket_id}:{answer.value}"


def parse_revisit(data: str) -> tuple[int, RevisitAnswer] | None:
    parts = data.removeprefix(REVISIT_PREFIX).split(":") if data.startswith(REVISIT_PREFIX) else []
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    try:
        return int(parts[0]), RevisitAnswer(parts[1])
    except ValueError:
        return None


def clean_comment(text: str, max_chars: int) -> str | None:
    """The comment as kept: trimmed and cut to `max_chars`; None when nothing is left."""
    text = text.strip()
    return text[:max_chars] if text else None


def question(ticket_id: int, number: str, name: str, chat_id: int, locale: str) -> Reply:
    """The 1–5 rating question sent after a resolution."""
    row = tuple(
        Button(f"rating.button.score_{score}", score_data(ticket_id, score)) for score in SCORES
    )
    return Reply(
        "rating.question",
        {"name": name, "number": number},
        buttons=(row,),
        chat_id=chat_id,
        locale=locale,
    )


def revisit_question(ticket_id: int, number: str, name: str, chat_id: int, locale: str) -> Reply:
    """The after-sales revisit: how are things since the resolution?"""
    row = (
        Button("revisit.button.all_good", revisit_data(ticket_id, RevisitAnswer.ALL_GOOD)),
        Button("revisit.button.problem", revisit_data(ticket_id, RevisitAnswer.PROBLEM)),
    )
    return Reply(
        "revisit.question",
        {"name": name, "number": number},
        buttons=(row,),
        chat_id=chat_id,
        locale=locale,
    )
