"""The complaint dialogue's pure parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.triage import Kind, Severity, TriageDecision
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
        severity=Severity.QUALITY,
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


# --- the transitions, as a pure function ---------------------------------------------------

BROKEN = TriageDecision(
    kind=Kind.COMPLAINT,
    severity=Severity.QUALITY,
    negativity=0.6,
    locale="en",
    signals=(),
    category="damaged",
    summary="broken kettle",
)
UNSURE = TriageDecision(Kind.ENQUIRY, None, 0.0, "en", (), None, None)


def test_a_complaint_in_words_is_confirmed_first_and_one_without_is_asked_for() -> None:
    said = flow.begin(flow.Said("the kettle is broken", BROKEN))
    assert (said.step, said.prompt) == (Step.CONFIRM, flow.Prompt.CONFIRM)
    assert said.draft.summary == "broken kettle" and said.draft.severity == "quality"
    empty = flow.begin(None)
    assert (empty.step, empty.prompt, empty.draft) == (
        Step.DESCRIBE,
        flow.Prompt.ASK_DESCRIPTION,
        Draft(),
    )


def test_a_whole_report_from_confirmation_to_ticket() -> None:
    move = flow.begin(flow.Said("the kettle is broken", BROKEN))
    move = flow.step(Step.CONFIRM, move.draft, flow.Pressed(ButtonAction.YES))
    assert (move.step, move.prompt, move.close_buttons) == (
        Step.ORDER,
        flow.Prompt.ASK_ORDER,
        True,
    )
    wrong = flow.step(Step.ORDER, move.draft, flow.Said("no idea", UNSURE))
    assert (wrong.step, wrong.prompt, wrong.changed) == (
        Step.ORDER,
        flow.Prompt.ORDER_INVALID,
        False,
    )
    move = flow.step(Step.ORDER, move.draft, flow.Said("order 10234", UNSURE))
    assert (move.step, move.draft.order_ref) == (Step.PHOTOS, "10234")
    move = flow.step(Step.PHOTOS, move.draft, flow.Attached("photo-1", "dented lid"))
    assert move.prompt is flow.Prompt.PHOTO_RECEIVED and move.draft.attachments == ("photo-1",)
    assert "dented lid" in move.draft.text
    done = flow.step(Step.PHOTOS, move.draft, flow.Pressed(ButtonAction.DONE))
    assert done.step is None and done.opens_ticket and done.close_buttons
    assert done.draft.order_ref == "10234" and done.draft.attachments == ("photo-1",)


def test_no_lets_the_customer_explain_again() -> None:
    move = flow.begin(flow.Said("the kettle is broken", BROKEN))
    again = flow.step(Step.CONFIRM, move.draft, flow.Pressed(ButtonAction.NO))
    assert (again.step, again.prompt) == (Step.DESCRIBE, flow.Prompt.ASK_DESCRIPTION)
    retold = flow.step(Step.DESCRIBE, again.draft, flow.Said("the lid is dented", BROKEN))
    assert retold.step is Step.CONFIRM and "the lid is dented" in retold.draft.text


def test_a_photo_before_the_photo_step_is_kept_and_confirmed() -> None:
    move = flow.step(Step.DESCRIBE, Draft(), flow.Attached("photo-1"))
    assert (move.step, move.prompt, move.draft.attachments) == (
        Step.CONFIRM,
        flow.Prompt.CONFIRM,
        ("photo-1",),
    )


@pytest.mark.parametrize(
    ("step", "action"),
    [
        (Step.DESCRIBE, ButtonAction.YES),
        (Step.CONFIRM, ButtonAction.DONE),
        (Step.ORDER, ButtonAction.YES),
        (Step.PHOTOS, ButtonAction.NO),
    ],
)
def test_a_button_that_no_longer_fits_changes_nothing(step: Step, action: ButtonAction) -> None:
    move = flow.step(step, Draft(text="x"), flow.Pressed(action))
    assert (move.step, move.prompt, move.changed) == (step, flow.Prompt.EXPIRED, False)
