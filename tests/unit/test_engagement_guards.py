"""The guards on proactive messages and the periods of cadences: pure functions of the clock
and the facts, tested across time zones east and west of UTC and daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.engagement.guards import SkipReason, Verdict, check, quiet_until, zone_of
from bot.core.engagement.periods import (
    engagement_key,
    is_due,
    parse_engagement_key,
    period_of,
)
from bot.core.engagement.playbook import Cadence, CadenceKind
from bot.core.models import Reachability
from bot.core.policies import EngagementPolicy

POLICY = EngagementPolicy()
START, END = POLICY.quiet_start, POLICY.quiet_end


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def verdict(
    now: datetime, *, marketing: bool = True, zone: str = "UTC", **facts: object
) -> Verdict:
    args: dict[str, object] = {
        "marketing": marketing,
        "reachability": Reachability.REACHABLE,
        "has_chat": True,
        "consent": True,
        "key": "engage:r:1:2026-12",
        "sent_keys": (),
        "last_of_rule": None,
        "min_interval_days": 0,
        "marketing_sent_at": (),
        "zone": ZoneInfo(zone),
        "now": now,
        "policy": POLICY,
    }
    args.update(facts)
    return check(**args)  # type: ignore[arg-type]


# --- quiet hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "zone", "until"),
    [
        (utc(2026, 12, 1, 22, 0), "UTC", utc(2026, 12, 2, 9, 0)),
        (utc(2026, 12, 1, 8, 59), "UTC", utc(2026, 12, 1, 9, 0)),
        (utc(2026, 12, 1, 21, 0), "UTC", utc(2026, 12, 2, 9, 0)),
        (utc(2026, 12, 1, 9, 0), "UTC", None),
        (utc(2026, 12, 1, 20, 59), "UTC", None),
        # east: Shanghai is UTC+8, 14:00 UTC is 22:00 there; opens 09:00 local = 01:00 UTC
        (utc(2026, 12, 1, 14, 0), "Asia/Shanghai", utc(2026, 12, 2, 1, 0)),
        (utc(2026, 12, 1, 2, 0), "Asia/Shanghai", None),  # 10:00 local
        # west: 06:00 UTC is 22:00 PST the day before; opens 09:00 PST = 17:00 UTC
        (utc(2026, 12, 1, 6, 0), "America/Los_Angeles", utc(2026, 12, 1, 17, 0)),
        (utc(2026, 12, 1, 20, 0), "America/Los_Angeles", None),  # 12:00 local
        # London springs forward on 2026-03-29: the night began in GMT, ends in BST
        (utc(2026, 3, 28, 22, 0), "Europe/London", utc(2026, 3, 29, 8, 0)),
        # …and falls back on 2026-10-25: began in BST (22:30 local), ends in GMT
        (utc(2026, 10, 24, 21, 30), "Europe/London", utc(2026, 10, 25, 9, 0)),
        # New York springs forward on 2026-03-08 at 02:00: 00:00 EST → 09:00 EDT = 13:00 UTC
        (utc(2026, 3, 8, 5, 0), "America/New_York", utc(2026, 3, 8, 13, 0)),
    ],
)
def test_quiet_hours_hold_until_the_window_opens_in_the_customers_zone(
    now: datetime, zone: str, until: datetime | None
) -> None:
    assert quiet_until(now, ZoneInfo(zone), START, END) == until


def test_an_opening_inside_a_daylight_saving_gap_is_the_first_moment_after_it() -> None:
    # 02:30 does not exist in New York on 2026-03-08 (02:00 EST → 03:00 EDT)
    opening = quiet_until(utc(2026, 3, 8, 6, 0), ZoneInfo("America/New_York"), START, time(2, 30))
    assert opening == utc(2026, 3, 8, 7, 30)  # 03:30 EDT, after the jump, and later than now
    assert opening.astimezone(ZoneInfo("America/New_York")).hour == 3


def test_equal_start_and_end_mean_no_quiet_hours() -> None:
    assert quiet_until(utc(2026, 12, 1, 23, 0), ZoneInfo("UTC"), time(9), time(9)) is None


def test_a_daytime_window_that_does_not_wrap_midnight() -> None:
    zone = ZoneInfo("UTC")
    assert quiet_until(utc(2026, 12, 1, 13, 30), zone, time(13), time(14)) == utc(2026, 12, 1, 14)
    assert quiet_until(utc(2026, 12, 1, 14, 0), zone, time(13), time(14)) is None


def test_an_unknown_zone_falls_back_to_the_default() -> None:
    assert zone_of("Mars/Olympus", "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert zone_of(None, "Europe/Paris") == ZoneInfo("Europe/Paris")
    assert zone_of("", "not a zone") == ZoneInfo("UTC")


def test_a_marketing_message_in_quiet_hours_is_held_not_dropped() -> None:
    result = verdict(utc(2026, 12, 1, 14, 0), zone="Asia/Shanghai")
    assert result.sends and result.held
    assert result.not_before == utc(2026, 12, 2, 1, 0)


def test_a_service_message_ignores_quiet_hours_cap_and_consent() -> None:
    now = utc(2026, 12, 1, 23, 0)
    result = verdict(
        now, marketing=False, consent=False, marketing_sent_at=[now - timedelta(hours=1)] * 5
    )
    assert result == Verdict(None, now)


# --- consent, reachability, already sent, interval ------------------------------------------


def test_marketing_needs_consent() -> None:
    assert verdict(utc(2026, 12, 1, 12), consent=False).skipped is SkipReason.NO_CONSENT


@pytest.mark.parametrize("marketing", [True, False])
@pytest.mark.parametrize(
    ("reachability", "has_chat", "reason"),
    [
        (Reachability.BLOCKED, True, SkipReason.BLOCKED),
        (Reachability.CHAT_GONE, True, SkipReason.CHAT_GONE),
        (Reachability.REACHABLE, False, SkipReason.NOT_LINKED),
    ],
)
def test_nothing_goes_to_a_customer_who_cannot_be_reached(
    marketing: bool, reachability: Reachability, has_chat: bool, reason: SkipReason
) -> None:
    result = verdict(
        utc(2026, 12, 1, 12), marketing=marketing, reachability=reachability, has_chat=has_chat
    )
    assert result.skipped is reason


@pytest.mark.parametrize("marketing", [True, False])
def test_a_key_already_written_is_not_sent_again(marketing: bool) -> None:
    key = "engage:r:1:2026-12"
    result = verdict(utc(2026, 12, 1, 12), marketing=marketing, key=key, sent_keys={key})
    assert result.skipped is SkipReason.ALREADY_SENT


def test_the_minimum_interval_between_two_sends_of_a_rule() -> None:
    now = utc(2026, 12, 1, 12)
    soon = verdict(now, min_interval_days=90, last_of_rule=now - timedelta(days=89))
    assert soon.skipped is SkipReason.TOO_SOON
    assert verdict(now, min_interval_days=90, last_of_rule=now - timedelta(days=90)).sends


# --- the cap ------------------------------------------------------------------------------------


def test_at_most_two_marketing_messages_in_seven_days() -> None:
    now = utc(2026, 12, 1, 12)
    two = [now - timedelta(days=1), now - timedelta(days=6, hours=23)]
    assert verdict(now, marketing_sent_at=two).skipped is SkipReason.CAP
    one_old = [now - timedelta(days=1), now - timedelta(days=7)]
    assert verdict(now, marketing_sent_at=one_old).sends


def test_a_held_message_counts_the_cap_from_when_it_will_go_out() -> None:
    now = utc(2026, 12, 1, 22)  # held until 09:00 tomorrow
    opening = utc(2026, 12, 2, 9)
    inside = [opening - timedelta(days=7) + timedelta(minutes=1), now - timedelta(days=1)]
    assert verdict(now, marketing_sent_at=inside).skipped is SkipReason.CAP
    outside = [opening - timedelta(days=7), now - timedelta(days=1)]
    assert verdict(now, marketing_sent_at=outside).not_before == opening


def test_a_held_message_not_yet_sent_counts_too() -> None:
    now = utc(2026, 12, 1, 12)
    assert verdict(now, marketing_sent_at=[now + timedelta(hours=20)] * 2).skipped is (
        SkipReason.CAP
    )


def test_the_cap_is_a_policy() -> None:
    now = utc(2026, 12, 1, 12)
    sent = [now - timedelta(days=1), now - timedelta(days=2)]
    assert verdict(now, marketing_sent_at=sent, policy=EngagementPolicy(marketing_cap=3)).sends


# --- periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "day", "period"),
    [
        (Cadence(CadenceKind.MONTHLY, 1), date(2026, 12, 15), "2026-12"),
        (Cadence(CadenceKind.QUARTERLY), date(2026, 11, 1), "2026Q4"),
        (Cadence(CadenceKind.QUARTERLY), date(2026, 1, 1), "2026Q1"),
        (Cadence(CadenceKind.HALF_YEARLY), date(2026, 7, 1), "2026H2"),
        (Cadence(CadenceKind.YEARLY), date(2026, 7, 1), "2026"),
        (Cadence(CadenceKind.ONCE), date(2026, 7, 1), "once"),
        (Cadence(CadenceKind.EVERY_WEEKS, 1), date(2026, 12, 3), "2026-W49"),
        (Cadence(CadenceKind.EVERY_DAYS, 1), date(2026, 12, 3), "2026-12-03"),
    ],
)
def test_period_labels(cadence: Cadence, day: date, period: str) -> None:
    assert period_of(cadence, day) == period


def test_every_two_weeks_pairs_iso_weeks() -> None:
    every_two = Cadence(CadenceKind.EVERY_WEEKS, 2)
    start = date(2026, 11, 2)  # a Monday
    labels = [period_of(every_two, start + timedelta(days=d)) for d in range(0, 42)]
    changes = [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]
    assert all(b - a == 14 for a, b in itertools.pairwise(changes))
    assert len(set(labels)) == 3
    assert all(label.startswith("2026-W") for label in labels)


def test_every_ninety_days_blocks() -> None:
    every = Cadence(CadenceKind.EVERY_DAYS, 90)
    labels = {period_of(every, date(2026, 1, 1) + timedelta(days=d)) for d in range(365)}
    assert 4 <= len(labels) <= 5


def test_monthly_on_a_day_is_due_from_that_day_and_clamped_to_short_months() -> None:
    on_15 = Cadence(CadenceKind.MONTHLY, 15)
    assert not is_due(on_15, date(2026, 12, 14))
    assert is_due(on_15, date(2026, 12, 15)) and is_due(on_15, date(2026, 12, 31))
    on_31 = Cadence(CadenceKind.MONTHLY, 31)
    assert is_due(on_31, date(2026, 2, 28)) and not is_due(on_31, date(2026, 2, 27))


def test_birthdays_are_due_on_the_day_and_the_grace_days() -> None:
    birthday = Cadence(CadenceKind.BIRTHDAY)
    born = date(1990, 12, 30)
    assert not is_due(birthday, date(2026, 12, 29), born, 3)
    assert is_due(birthday, date(2026, 12, 30), born, 3)
    assert is_due(birthday, date(2027, 1, 2), born, 3)  # grace runs into January…
    assert period_of(birthday, date(2027, 1, 2), born, 3) == "2026"  # …for last year's
    assert not is_due(birthday, date(2027, 1, 3), born, 3)
    assert not is_due(birthday, date(2026, 12, 30), None, 3)


def test_a_29_february_birthday_is_celebrated_on_the_28th_in_other_years() -> None:
    birthday = Cadence(CadenceKind.BIRTHDAY)
    leapling = date(2000, 2, 29)
    assert is_due(birthday, date(2027, 2, 28), leapling, 0)
    assert is_due(birthday, date(2028, 2, 29), leapling, 0)
    assert not is_due(birthday, date(2028, 2, 28), leapling, 0)


def test_engagement_keys_round_trip() -> None:
    key = engagement_key("win-back", 42, "2026-11-30")
    assert key == "engage:win-back:42:2026-11-30"
    assert parse_engagement_key(key) == ("win-back", 42, "2026-11-30")
    assert parse_engagement_key("revisit:7") is None
