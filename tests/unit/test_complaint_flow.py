"""The complaint dialogue's pure parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.flows import complaint as flow
from bot.flows.complaint import ButtonAction, Draft, Step

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#10234", "10234"),
        ("order 10234", "10234"),
        ("订单号 A-77", "A-77"),
        ("訂單號 77889", "77889"),
        ("  10234 ", "10234"),
        ("hello", None),
        ("I want a refund", None),
        ("abc", None),
    ],
)
def test_order_numbers_as_customers_type_them(text: str, expected: str | None) -> None:
    assert flow.parse_order_ref(text) == expected


def test_the_draft_survives_a_round_trip_through_stored_state() -> None:
    draft = Draft(
        text="kettle broken",
        severity="quality",
        category="damaged",
        summary="broken kettle",
        negativity=0.6,
        signals=("broken",),
        order_ref="10234",
        attachments=("F1", "F2"),
    )
    conversation = flow.at(5, Step.PHOTOS, draft, NOW)
    assert flow.current(conversation) == (Step.PHOTOS, draft)


def test_attachments_are_kept_once_and_capped() -> None:
    draft = Draft()
    for n in range(15):
        draft = flow.with_attachment(draft, f"F{n % 12}")
    assert len(draft.attachments) == flow.MAX_ATTACHMENTS
    assert len(set(draft.attachments)) == len(draft.attachments)


def test_other_dialogues_and_bad_buttons_are_not_ours() -> None:
    from bot.core.models import Conversation

    assert flow.current(Conversation(1, "faq_confirm", "awaiting_choice", NOW)) is None
    assert flow.parse_button("cp:maybe") is None
    assert flow.parse_button(flow.button_data(ButtonAction.DONE)) is ButtonAction.DONE
