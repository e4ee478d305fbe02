"""The monthly complaint review."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.reports import complaint_review, month_bounds
from bot.core.tickets import TicketKind, TicketState
from bot.core.triage import Severity
from tests.unit.test_sla import T0, a_ticket


def test_month_bounds() -> None:
    start, end = month_bounds("2026-12")
    assert (start.month, end.year, end.month) == (12, 2027, 1)
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds("Nov 2026")


def test_review_counts_compliance_times_causes_and_repeats() -> None:
    fast = a_ticket(Severity.QUALITY)
    fast.first_response_at = T0 + timedelta(minutes=30)
    fast.resolved_at = T0 + timedelta(hours=5)
    fast.state = TicketState.RESOLVED
    fast.signals, fast.category = ["broken", "refund"], "damaged"
    slow = a_ticket(Severity.MAJOR)
    slow.customer_id = fast.customer_id
    slow.first_response_at = T0 + timedelta(minutes=40)  # target 15 min: missed
    slow.signals, slow.category, slow.contacts = ["lawyer"], "legal", 3
    waiting = a_ticket(Severity.GENERAL)
    waiting.customer_id = 99  # no response yet, not yet due at `now`: left out
    enquiry = a_ticket(Severity.GENERAL, TicketKind.ENQUIRY)
    review = complaint_review(
        [fast, slow, waiting, enquiry], "2026-11", now=T0 + timedelta(minutes=60)
    )
    assert review.total == 3
    assert review.by_severity == {"general": 1, "quality": 1, "major": 1}
    assert review.first_response.met == 1 and review.first_response.missed == 1
    assert review.median_first_response_hours == pytest.approx(35 / 60)
    assert review.median_resolution_hours == pytest.approx(5.0)
    assert dict(review.top_causes)["broken"] == 1
    assert review.repeat_complainers == 1 and review.repeat_contacts == 1
    assert ("complaints", "3") in review.rows()
