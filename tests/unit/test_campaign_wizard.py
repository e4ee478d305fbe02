"""The ``/campaign`` wizard's steps as pure functions (:mod:`bot.core.campaigns.wizard`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.campaigns.model import ScheduleKind, check_spec
from bot.core.campaigns.wizard import (
    Context,
    Effect,
    Press,
    Step,
    Typed,
    WizardState,
    advance,
    parse_button,
    parse_link,
    parse_when,
    spec_of,
    start,
)
from bot.core.engagement.playbook import CouponKind
from bot.core.policies import CampaignWizardPolicy
from bot.core.tiers import Tier

LOCALES = ("en", "zh-Hans", "zh-Hant")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CTX = Context(LOCALES, "en", "Europe/Berlin", NOW, CampaignWizardPolicy())


def run(state: WizardState, *events: Press | Typed) -> WizardState:
    for event in events:
        moved = advance(state, event, CTX)
        assert moved.state is not None and not moved.stale and moved.correction is None, event
        state = moved.state
    return state


def press(step: Step, verb: str, arg: str = "") -> Press:
    return Press(step.value, verb, arg)


def at_schedule() -> WizardState:
    return run(
        start("Europe/Berlin"),
        press(Step.AUDIENCE, "t", "tier.mid"),
        press(Step.AUDIENCE, "t", "lang.en"),
        press(Step.AUDIENCE, "t", "lang.zh-Hans"),
        press(Step.AUDIENCE, "next"),
        Typed("Hello {name}, the spring teas are here."),
        Typed("{name}，春茶到了。"),
        press(Step.MESSAGE, "same"),
        Typed("Shop now https://shop.example/spring"),
        press(Step.COUPON, "coupon", "percent.10"),
        press(Step.HOLDOUT, "holdout", "10"),
    )


def test_the_whole_way_describes_the_campaign_chosen() -> None:
    state = at_schedule()
    assert state.step is Step.SCHEDULE
    moved = advance(state, Typed("2026-12-24 10:00"), CTX)
    assert moved.effect is Effect.STORE_DRAFT and moved.state is not None
    assert moved.state.step is Step.PREVIEW
    spec = spec_of(moved.state, "en")
    check_spec(spec, LOCALES, "en")
    assert spec.name == "Hello …, the spring teas are here."
    assert spec.audience.clauses[0].tiers == {Tier.MID}
    assert spec.audience.clauses[0].languages == {"en", "zh-Hans"}
    assert spec.audience.consent is True
    assert set(spec.messages) == {"en", "zh-Hans"}  # zh-Hant takes the English text
    assert spec.messages["zh-Hans"].text == "{name}，春茶到了。"
    assert spec.messages["en"].buttons[0].url == "https://shop.example/spring"
    assert spec.coupon is not None and spec.coupon.kind is CouponKind.PERCENT
    assert spec.coupon.value == 10 and spec.holdout == 0.1
    assert spec.schedule.kind is ScheduleKind.AT
    assert spec.schedule.at == datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # Berlin is UTC+1
    assert spec.schedule.timezone == "Europe/Berlin"


def test_the_state_survives_its_json_form() -> None:
    state = at_schedule()
    assert WizardState.from_data(state.as_data()) == state


def test_consent_toggled_off_admits_both() -> None:
    state = run(start("UTC"), press(Step.AUDIENCE, "t", "consent"))
    assert spec_of(state, "en").audience.consent is None
    state = run(state, press(Step.AUDIENCE, "t", "consent"))
    assert spec_of(state, "en").audience.consent is True


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("tomorrow at ten", "campaign_wizard.fix.when_format"),
        ("2026-13-40 10:00", "campaign_wizard.fix.when_format"),
        ("2026-12-24 10:00 Mars/Olympus", "campaign_wizard.fix.when_zone"),
        ("2026-11-30 10:00", "campaign_wizard.fix.when_past"),
    ],
)
def test_a_time_that_does_not_parse_gets_a_correction_and_the_same_step(
    typed: str, key: str
) -> None:
    state = at_schedule()
    moved = advance(state, Typed(typed), CTX)
    assert moved.correction == key and moved.state == state and moved.effect is Effect.NONE


def test_a_named_zone_is_read_in_that_zone() -> None:
    assert parse_when("2026-12-24 10:00 Asia/Shanghai", "UTC", NOW) == (
        datetime(2026, 12, 24, 2, 0, tzinfo=UTC),
        "Asia/Shanghai",
    )


@pytest.mark.parametrize(
    "typed", ["https://shop.example", "Shop now", "Shop now ftp://x.example", "Shop www.x.cn"]
)
def test_a_link_that_does_not_parse_gets_a_correction(typed: str) -> None:
    assert parse_link(typed) is None
    state = run(at_schedule(), press(Step.SCHEDULE, "back"), press(Step.HOLDOUT, "back"))
    state = run(state, press(Step.COUPON, "back"))
    assert state.step is Step.LINK
    assert advance(state, Typed(typed), CTX).correction == "campaign_wizard.fix.link"


def test_empty_text_and_typing_at_a_button_step_are_corrected() -> None:
    state = run(start("UTC"), press(Step.AUDIENCE, "next"))
    assert advance(state, Typed("   "), CTX).correction == "campaign_wizard.fix.empty"
    assert advance(state, Typed("x" * 3000), CTX).correction == "campaign_wizard.fix.too_long"
    assert advance(start("UTC"), Typed("mid tier please"), CTX).correction == (
        "campaign_wizard.fix.use_buttons"
    )


def test_back_goes_one_locale_then_one_step_back() -> None:
    state = run(start("UTC"), press(Step.AUDIENCE, "next"), Typed("Hi"), Typed("你好"))
    assert state.asking(LOCALES) == "zh-Hant"
    state = run(state, press(Step.MESSAGE, "back"))
    assert state.asking(LOCALES) == "zh-Hans" and state.step is Step.MESSAGE
    state = run(state, press(Step.MESSAGE, "back"), press(Step.MESSAGE, "back"))
    assert state.step is Step.AUDIENCE and not state.texts


def test_the_default_locale_cannot_borrow_its_own_text() -> None:
    state = run(start("UTC"), press(Step.AUDIENCE, "next"))
    assert advance(state, press(Step.MESSAGE, "same"), CTX).stale


def test_buttons_of_another_step_or_unknown_values_are_stale() -> None:
    state = at_schedule()
    for old in (
        press(Step.AUDIENCE, "next"),
        press(Step.COUPON, "coupon", "percent.10"),
        press(Step.SCHEDULE, "holdout", "10"),
    ):
        moved = advance(state, old, CTX)
        assert moved.stale and moved.state == state
    coupon_step = run(start("UTC"), press(Step.AUDIENCE, "next"), Typed("Hi"))
    coupon_step = run(coupon_step, press(Step.MESSAGE, "same"), press(Step.MESSAGE, "same"))
    coupon_step = run(coupon_step, press(Step.LINK, "nolink"))
    assert advance(coupon_step, press(Step.COUPON, "coupon", "percent.99"), CTX).stale
    assert advance(start("UTC"), press(Step.AUDIENCE, "t", "tier.gold"), CTX).stale


def test_preview_test_confirm_back_and_cancel_name_their_effects() -> None:
    state = run(at_schedule(), press(Step.SCHEDULE, "now"))
    assert state.step is Step.PREVIEW and state.at is None
    with_draft = WizardState.from_data({**state.as_data(), "draft_id": 7})
    assert advance(with_draft, press(Step.PREVIEW, "test"), CTX).effect is Effect.TEST
    confirmed = advance(with_draft, press(Step.PREVIEW, "confirm"), CTX)
    assert confirmed.state is None and confirmed.effect is Effect.CONFIRM
    back = advance(with_draft, press(Step.PREVIEW, "back"), CTX)
    assert back.effect is Effect.DISCARD_DRAFT and back.state is not None
    assert back.state.step is Step.SCHEDULE and back.state.draft_id is None
    cancelled = advance(with_draft, press(Step.PREVIEW, "cancel"), CTX)
    assert cancelled.state is None and cancelled.effect is Effect.DISCARD_DRAFT
    assert advance(start("UTC"), press(Step.AUDIENCE, "cancel"), CTX).effect is Effect.NONE


def test_button_data_round_trips_and_fits_telegram() -> None:
    assert parse_button("cw:coupon:coupon:fixed.1000") == Press("coupon", "coupon", "fixed.1000")
    assert parse_button("cw:audience:next") == Press("audience", "next")
    assert parse_button("cw:") is None and parse_button("tk:1:x") is None


def test_no_coupon_and_free_shipping() -> None:
    at_coupon = run(start("UTC"), press(Step.AUDIENCE, "next"), Typed("Hi"))
    at_coupon = run(at_coupon, press(Step.MESSAGE, "same"), press(Step.MESSAGE, "same"))
    at_coupon = run(at_coupon, press(Step.LINK, "nolink"))
    none = run(at_coupon, press(Step.COUPON, "coupon", "none"))
    assert none.step is Step.HOLDOUT and spec_of(none, "en").coupon is None
    free = spec_of(run(at_coupon, press(Step.COUPON, "coupon", "free_shipping")), "en").coupon
    assert free is not None and free.kind is CouponKind.FREE_SHIPPING and free.value is None
    assert free.valid_days == CampaignWizardPolicy().coupon_valid_days


def test_the_preset_settings_are_read_and_a_holdout_over_half_is_refused() -> None:
    wizard = policies(Settings(campaign_wizard_percent_presets="10,25")).campaign_wizard
    assert wizard.percent_presets == (10, 25) and wizard.holdout_presets == (0, 5, 10, 20)
    with pytest.raises(ValueError, match="RAPPORT_CAMPAIGN_WIZARD_HOLDOUT_PRESETS"):
        policies(Settings(campaign_wizard_holdout_presets="0,60"))
    with pytest.raises(ValidationError):
        Settings(campaign_wizard_fixed_presets_cents="5 euros")
