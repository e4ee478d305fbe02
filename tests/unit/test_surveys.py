"""The survey's rules as pure functions: what a press does (first answer, a change within the
window, the same score again, too late), the payloads, NPS arithmetic and the quarter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.surveys import (
    Answer,
    Survey,
    SurveyPolicy,
    decide,
    is_detractor,
    no_comment_data,
    nps_summary,
    parse,
    quarter_bounds,
    score_data,
)

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
POLICY = SurveyPolicy(comment_minutes=60, answer_days=30)


def survey(
    score: int | None = None, answered: datetime | None = None, tier: str = "high"
) -> Survey:
    return Survey(1, "survey-high", "2026Q4", tier, T0, score=score, answered_at=answered)


def test_a_press_records_changes_repeats_or_comes_too_late() -> None:
    assert decide(survey(), 7, T0 + timedelta(days=30), POLICY) is Answer.RECORDED
    assert decide(survey(), 7, T0 + timedelta(days=30, seconds=1), POLICY) is Answer.TOO_LATE
    answered = survey(5, T0)
    assert decide(answered, 5, T0 + timedelta(days=9), POLICY) is Answer.SAME
    assert decide(answered, 8, T0 + timedelta(minutes=60), POLICY) is Answer.CHANGED
    assert decide(answered, 8, T0 + timedelta(minutes=61), POLICY) is Answer.TOO_LATE


def test_detractors_are_0_to_6() -> None:
    assert [s for s in range(11) if is_detractor(s, POLICY)] == list(range(7))


def test_payloads() -> None:
    assert parse(score_data(42, 0)) == (42, 0) and parse(score_data(42, 10)) == (42, 10)
    assert parse(no_comment_data(42)) == (42, None)
    for bad in ("nps:42:11", "nps:42:-1", "nps:x:3", "nps:42", "rate:42:3", "nps:42:3:1"):
        assert parse(bad) is None


def test_nps_by_tier_and_in_total() -> None:
    answers = [
        survey(10),
        survey(9),
        survey(3),
        survey(None),  # sent, not answered
        survey(7, tier="mid"),
        survey(0, tier="mid"),
        survey(None, tier="base"),
    ]
    lines = {line.tier: line for line in nps_summary(answers)}
    assert list(lines) == ["high", "mid", "base", "total"]
    high = lines["high"]
    assert (high.sent, high.responses, high.promoters, high.passives, high.detractors) == (
        4,
        3,
        2,
        0,
        1,
    )
    assert high.response_rate == 75.0 and high.nps == pytest.approx(100 * (2 - 1) / 3)
    assert lines["mid"].nps == -50.0 and lines["mid"].passives == 1
    assert lines["base"].nps is None and lines["base"].response_rate == 0.0
    total = lines["total"]
    assert (total.sent, total.responses, total.promoters, total.detractors) == (7, 5, 2, 2)
    assert total.nps == 0.0
    assert nps_summary([])[0].response_rate is None


def test_quarters() -> None:
    assert quarter_bounds("2026Q4") == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert quarter_bounds("2026Q1")[1] == datetime(2026, 4, 1, tzinfo=UTC)
    for bad in ("2026Q5", "2026-Q4", "26Q4", "Q4", "2026q4", ""):
        with pytest.raises(ValueError, match="is not a quarter like 2026Q4"):
            quarter_bounds(bad)
