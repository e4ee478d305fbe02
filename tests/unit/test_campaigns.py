"""Campaign rules as pure functions: states, the holdout draw, the spec's checks, cron
expressions, and the report's counts and uplift against hand-computed examples."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.campaigns.cron import CronError, next_after, parse_cron
from bot.core.campaigns.model import (
    Action,
    Campaign,
    CampaignAudience,
    CampaignError,
    CampaignSpec,
    CampaignState,
    LinkButton,
    LocaleMessage,
    RecipientStatus,
    check_spec,
    in_holdout,
    move,
)
from bot.core.campaigns.uplift import (
    OrderRecord,
    RecipientOutcome,
    build_report,
    mean_difference,
    proportion_difference,
)
from bot.core.outbox_model import OutboxState

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LOCALES = ("en", "zh-Hans", "zh-Hant")


def spec(**messages: LocaleMessage) -> CampaignSpec:
    return CampaignSpec("Spring", CampaignAudience(), messages or {"en": LocaleMessage("Hi")})


def campaign(state: CampaignState, run: int = 0, started: datetime | None = None) -> Campaign:
    return Campaign(spec(), state, 1, T0, "t", run=run, run_started_at=started, id=7)


# --- states -----------------------------------------------------------------------------


def test_states_move_as_drawn_and_refuse_the_rest() -> None:
    assert move(campaign(CampaignState.DRAFT), Action.SCHEDULE) is CampaignState.SCHEDULED
    assert move(campaign(CampaignState.RUNNING), Action.PAUSE) is CampaignState.PAUSED
    unfinished = campaign(CampaignState.PAUSED, run=1, started=T0)
    assert move(unfinished, Action.RESUME) is CampaignState.RUNNING
    assert move(campaign(CampaignState.PAUSED, run=1), Action.RESUME) is CampaignState.SCHEDULED
    assert move(campaign(CampaignState.SCHEDULED), Action.CANCEL) is CampaignState.CANCELLED
    for state, action in (
        (CampaignState.DRAFT, Action.PAUSE),
        (CampaignState.DONE, Action.CANCEL),
        (CampaignState.RUNNING, Action.RESUME),
        (CampaignState.RUNNING, Action.SCHEDULE),
    ):
        with pytest.raises(CampaignError, match=state.value):
            move(campaign(state), action)


def test_the_holdout_draw_is_recorded_by_its_seed_and_near_its_share() -> None:
    drawn = [in_holdout(42, customer, 0.1) for customer in range(10_000)]
    assert 900 < sum(drawn) < 1100
    assert drawn == [in_holdout(42, customer, 0.1) for customer in range(10_000)]
    assert drawn != [in_holdout(43, customer, 0.1) for customer in range(10_000)]
    assert not any(in_holdout(42, customer, 0.0) for customer in range(1000))


@pytest.mark.parametrize(
    ("wrong", "field"),
    [
        ({"name": " "}, "name"),
        ({"messages": {"zh-Hans": LocaleMessage("你好")}}, "message: there must be one"),
        ({"messages": {"en": LocaleMessage("Hi"), "fr": LocaleMessage("Salut")}}, "message.fr"),
        ({"messages": {"en": LocaleMessage("Hi", "campaign.x")}}, "message.en: give exactly"),
        (
            {"messages": {"en": LocaleMessage("Hi", buttons=(LinkButton("Go", "ftp://x"),))}},
            r"message.en.buttons\[1\].url",
        ),
        ({"holdout": 0.6}, "holdout"),
    ],
)
def test_a_wrong_spec_names_its_field(wrong: dict[str, object], field: str) -> None:
    from dataclasses import replace

    with pytest.raises(CampaignError, match=field):
        check_spec(replace(spec(), **wrong), LOCALES, "en")  # type: ignore[arg-type]


# --- cron -------------------------------------------------------------------------------


def test_cron_finds_the_next_moment_in_the_campaign_s_zone() -> None:
    monday_ten = parse_cron("0 10 * * 1")
    shanghai = ZoneInfo("Asia/Shanghai")
    # Wednesday 2 December 2026, 03:00 UTC: next Monday 10:00 in Shanghai is 02:00 UTC
    found = next_after(monday_ten, datetime(2026, 12, 2, 3, 0, tzinfo=UTC), shanghai)
    assert found == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    every_15 = parse_cron("*/15 9-17 1,15 * *")
    assert next_after(every_15, T0, ZoneInfo("UTC")) == T0 + timedelta(minutes=15)
    assert next_after(parse_cron("0 0 29 2 *"), T0, ZoneInfo("UTC")) == datetime(
        2028, 2, 29, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("0 10 * *", "5 fields"),
        ("61 * * * *", "minute"),
        ("0 x * * *", "hour"),
        ("0 0 0 * *", "day of month"),
    ],
)
def test_a_wrong_cron_expression_names_its_field(expression: str, field: str) -> None:
    with pytest.raises(CronError, match=field):
        parse_cron(expression)


# --- the report -------------------------------------------------------------------------


def test_uplift_of_conversion_against_a_hand_computed_interval() -> None:
    # 30 of 200 recipients ordered, 10 of 100 holdout: d = 0.15 - 0.10 = 0.05;
    # se = sqrt(0.15*0.85/200 + 0.10*0.90/100) = sqrt(0.0015375) = 0.0392110;
    # 95 %: z = 1.959964, so 0.05 ± 0.0768521 = (-0.0268521, 0.1268521)
    found = proportion_difference(30, 200, 10, 100, 0.95)
    assert found is not None
    assert found.estimate == pytest.approx(0.05)
    assert found.low == pytest.approx(-0.0268521, abs=1e-6)
    assert found.high == pytest.approx(0.1268521, abs=1e-6)
    assert proportion_difference(1, 0, 1, 10) is None


def test_uplift_of_revenue_per_customer_with_welch_s_standard_error() -> None:
    # means 25 and 10; sample variances 166.67 and 50; se = sqrt(166.67/4 + 50/2) = 8.16497;
    # 15 ± 1.959964 * 8.16497 = (-1.00304, 31.00304)
    found = mean_difference([10, 20, 30, 40], [5, 15], 0.95)
    assert found is not None
    assert found.estimate == pytest.approx(15)
    assert found.low == pytest.approx(-1.00304, abs=1e-5)
    assert found.high == pytest.approx(31.00304, abs=1e-5)
    assert mean_difference([1.0], [1.0, 2.0]) is None


def _sent(
    customer: int,
    state: OutboxState = OutboxState.SENT,
    *,
    held: bool = False,
    outbox_error: str | None = None,
) -> RecipientOutcome:
    return RecipientOutcome(
        customer,
        False,
        RecipientStatus.QUEUED,
        held=held,
        at=T0,
        outbox_state=state,
        outbox_error=outbox_error,
    )


def test_the_report_counts_add_up_and_compare_recipients_with_the_holdout() -> None:
    recipients = [
        _sent(1),
        _sent(2),
        _sent(3, held=True),
        _sent(4, OutboxState.FAILED, outbox_error="Bad Request: message is too long"),
        _sent(5, OutboxState.SKIPPED, outbox_error="Forbidden: bot was blocked by the user"),
        _sent(6, OutboxState.PENDING, held=True),
        RecipientOutcome(7, False, RecipientStatus.NO_CONSENT, "no_consent"),
        RecipientOutcome(8, False, RecipientStatus.CAP, "cap"),
        RecipientOutcome(9, False, RecipientStatus.UNREACHABLE, "blocked"),
        RecipientOutcome(10, False, RecipientStatus.CANCELLED),
        RecipientOutcome(11, False, RecipientStatus.PENDING),
        RecipientOutcome(12, True, RecipientStatus.HOLDOUT, at=T0),
        RecipientOutcome(13, True, RecipientStatus.HOLDOUT, at=T0),
        RecipientOutcome(14, True, RecipientStatus.HOLDOUT, "no_consent", at=T0),
    ]
    day = timedelta(days=1)
    orders = [
        OrderRecord(1, T0 + day, 5000, True),
        OrderRecord(1, T0 + 2 * day, 1000, True),  # one customer, two orders: 60.00
        OrderRecord(2, T0 + 20 * day, 9900, True),  # after the 14 days: not counted
        OrderRecord(3, T0 + day, 3000, False),  # cancelled: not counted
        OrderRecord(12, T0 + day, 2000, True),
        OrderRecord(14, T0 + day, 7000, True),  # would not have been sent: not compared
        OrderRecord(4, T0 - day, 4000, True),  # before the message
    ]
    report = build_report(recipients, orders, window_days=14, confidence=0.95, coupons_issued=6)
    assert report.audience == 14 and report.adds_up
    assert (report.sent, report.holdout, report.held, report.held_sent) == (3, 3, 2, 1)
    assert report.failed == Counter({"Bad Request: message is too long": 1})
    assert report.blocked == Counter({"Forbidden: bot was blocked by the user": 1, "blocked": 1})
    assert (report.skipped_consent, report.skipped_cap, report.cancelled, report.waiting) == (
        1,
        1,
        1,
        2,
    )
    # treated: the 6 the guards let through (1-6); 1 ordered 60.00. Control: 12 and 13; 12
    # ordered 20.00. Conversion 1/6 vs 1/2; revenue per customer 10.00 vs 10.00.
    assert (report.treated.customers, report.treated.converted) == (6, 1)
    assert (report.control.customers, report.control.converted) == (2, 1)
    assert report.treated.revenue_cents == (6000, 0, 0, 0, 0, 0)
    assert report.control.revenue_per_customer == 1000
    assert report.conversion_uplift is not None
    assert report.conversion_uplift.estimate == pytest.approx(1 / 6 - 1 / 2)
    assert report.revenue_uplift_cents is not None
    assert report.revenue_uplift_cents.estimate == pytest.approx(0)
