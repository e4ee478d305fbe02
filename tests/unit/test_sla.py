"""SLA policy: targets per case, high-tier cap, business-hours clocks, warn/breach decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app.policies import sla_policy
from bot.app.settings import Settings
from bot.core.sla import BusinessHours, SlaAction, due_actions
from bot.core.tickets import Level, Ticket, TicketKind, TicketState
from bot.core.tiers import Tier
from bot.core.triage import Priority, Severity

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def a_ticket(
    severity: Severity = Severity.QUALITY,
    kind: TicketKind = TicketKind.COMPLAINT,
    tier: Tier | None = None,
    settings: Settings | None = None,
) -> Ticket:
    policy = sla_policy(settings or Settings())
    first, resolution = policy.deadlines(T0, kind, severity, tier)
    return Ticket(
        customer_id=1,
        chat_id=1,
        kind=kind,
        severity=severity,
        priority=Priority.NORMAL,
        state=TicketState.ACKNOWLEDGED,
        level=Level.AGENT,
        text="x",
        created_at=T0,
        updated_at=T0,
        first_response_due_at=first,
        resolution_due_at=resolution,
        id=7,
        number="T-000007",
    )


@pytest.mark.parametrize(
    ("severity", "kind", "tier", "first", "resolution"),
    [
        (Severity.GENERAL, TicketKind.COMPLAINT, None, 120, 1440),
        (Severity.QUALITY, TicketKind.COMPLAINT, None, 120, 1440),
        (Severity.MAJOR, TicketKind.COMPLAINT, None, 15, 1440),
        (Severity.GENERAL, TicketKind.ENQUIRY, None, 120, 1440),
        (Severity.MAJOR, TicketKind.COMPLAINT, Tier.HIGH, 15, 1440),
    ],
)
def test_spec_defaults(
    severity: Severity, kind: TicketKind, tier: Tier | None, first: int, resolution: int
) -> None:
    ticket = a_ticket(severity, kind, tier)
    assert ticket.first_response_due_at - T0 == timedelta(minutes=first)
    assert ticket.resolution_due_at - T0 == timedelta(minutes=resolution)


def test_a_high_tier_customer_never_waits_longer_than_the_cap() -> None:
    settings = Settings(quality_first_response_minutes=240, high_tier_first_response_minutes=60)
    assert a_ticket(tier=Tier.HIGH, settings=settings).first_response_due_at - T0 == timedelta(
        minutes=60
    )
    assert a_ticket(tier=Tier.MID, settings=settings).first_response_due_at - T0 == timedelta(
        minutes=240
    )


def test_warning_at_80_percent_then_breach_each_once() -> None:
    policy = sla_policy(Settings())
    ticket = a_ticket()
    assert due_actions(ticket, T0 + timedelta(minutes=95), policy) == []
    assert due_actions(ticket, T0 + timedelta(minutes=96), policy) == [
        SlaAction.WARN_FIRST_RESPONSE
    ]
    ticket.first_response_warned_at = T0 + timedelta(minutes=96)
    assert due_actions(ticket, T0 + timedelta(minutes=119), policy) == []
    assert due_actions(ticket, T0 + timedelta(minutes=120), policy) == [
        SlaAction.BREACH_FIRST_RESPONSE
    ]


def test_a_long_outage_goes_straight_to_breach_for_both_targets() -> None:
    policy = sla_policy(Settings())
    ticket = a_ticket()
    assert due_actions(ticket, T0 + timedelta(days=2), policy) == [
        SlaAction.BREACH_FIRST_RESPONSE,
        SlaAction.BREACH_RESOLUTION,
    ]


def test_a_first_response_stops_its_clock_and_closed_tickets_need_nothing() -> None:
    policy = sla_policy(Settings())
    ticket = a_ticket()
    ticket.first_response_at = T0 + timedelta(minutes=10)
    assert due_actions(ticket, T0 + timedelta(hours=3), policy) == []
    ticket.state = TicketState.RESOLVED
    assert due_actions(ticket, T0 + timedelta(days=3), policy) == []


def test_business_hours_stop_the_clock_overnight_and_at_weekends() -> None:
    hours = BusinessHours.parse("mon-fri 09:00-18:00", "Europe/London")
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # London = UTC in November
    assert hours.add(friday_5pm, timedelta(hours=2)) == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert hours.add(saturday, timedelta(minutes=15)) == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    assert hours.working_time(friday_5pm, datetime(2026, 11, 30, 10, 0, tzinfo=UTC)) == (
        timedelta(hours=2)
    )


def test_business_hours_from_settings_shift_deadlines_and_warnings() -> None:
    settings = Settings(business_hours="mon-fri 09:00-18:00", business_timezone="UTC")
    policy = sla_policy(settings)
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    first, _ = policy.deadlines(friday_5pm, TicketKind.COMPLAINT, Severity.QUALITY, None)
    assert first == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    # 80 % of two working hours = 96 minutes: one hour on Friday, 36 minutes on Monday.
    assert policy.warn_time(friday_5pm, first) == datetime(2026, 11, 30, 9, 36, tzinfo=UTC)


@pytest.mark.parametrize("spec", ["weekdays 9-5", "mon-fri 18:00-09:00", "mon-xyz 09:00-10:00"])
def test_bad_business_hours_are_explained(spec: str) -> None:
    with pytest.raises(ValueError, match="business hours"):
        BusinessHours.parse(spec, "UTC")
