"""Profile completion: the pure rules (what is missing, what to ask next, zones, button data,
completeness), and the use cases over the fakes — the natural moments, once per field, never
during an open ticket, held through quiet hours, the answers and "Not now"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.engagement.facts import OrderFact
from bot.core.messages import Sender
from bot.core.models import Customer
from bot.core.outbox_model import OutboxState
from bot.core.profile import (
    LATER_DATA,
    LINK_DATA,
    TYPE_ZONE_DATA,
    Answer,
    Press,
    ProfileFacts,
    ProfileField,
    ProfilePolicy,
    completeness,
    may_be_zone,
    missing,
    next_field,
    parse,
    valid_zone,
)
from bot.core.records import OrderStatus
from bot.core.services.profile import ask_after_first_orders, invite
from bot.core.tickets import TicketState
from tests.fakes import a_ticket
from tests.unit.conftest import FakeBot

LANGUAGE, ZONE, LINK = ProfileField.LANGUAGE, ProfileField.TIMEZONE, ProfileField.LINK
POLICY = ProfilePolicy()


def test_missing_fields_in_the_order_asked_and_what_counts_as_present() -> None:
    bare = ProfileFacts("mid", language_code="zh-TW", timezone="Mars/Olympus")
    assert missing(bare, POLICY) == [LANGUAGE, ZONE, LINK]
    telegram_counts = ProfilePolicy(language_from_telegram=True)
    assert missing(bare, telegram_counts) == [ZONE, LINK]
    full = ProfileFacts("mid", "en", None, "Asia/Taipei", linked=True)
    assert missing(full, POLICY) == []
    assert missing(bare, ProfilePolicy(fields=(LINK,))) == [LINK]
    assert next_field(bare, POLICY, {LANGUAGE}) is ZONE
    assert next_field(bare, POLICY, {LANGUAGE, ZONE, LINK}) is None


def test_zones_are_iana_names_whatever_the_case() -> None:
    assert valid_zone(" asia/taipei ") == "Asia/Taipei"
    assert valid_zone("America/New York") == "America/New_York"
    for bad in ("", "Mars/Olympus", "Taipei", "x" * 80, "../etc/passwd"):
        assert valid_zone(bad) is None
    assert may_be_zone("Asia/Taipei") and may_be_zone("asia taipei")
    assert not may_be_zone("where is my parcel?") and not may_be_zone("  ")
    assert not may_be_zone("the kettle I ordered last week is broken")


def test_button_data() -> None:
    assert parse("pf:lang:zh-Hant") == Press(LANGUAGE, "zh-Hant")
    assert parse("pf:tz:Asia/Taipei") == Press(ZONE, "Asia/Taipei")
    assert parse(TYPE_ZONE_DATA) == Press(ZONE, type_zone=True)
    assert parse(LINK_DATA) == Press(LINK)
    assert parse(LATER_DATA) == Press(None)
    assert parse("pf:other") is None and parse("rate:1:5") is None


def test_completeness_overall_and_by_tier() -> None:
    customers = [
        ProfileFacts("high", "en", None, "Asia/Taipei", linked=True),
        ProfileFacts("high", None, None, "Asia/Taipei", linked=True),
        ProfileFacts("base", "zh-Hans", None, None, linked=True),
        ProfileFacts("mid", "en", None, "UTC", linked=True),
    ]
    total, tiers = completeness(customers, POLICY)
    assert (total.customers, total.complete) == (4, 2)
    assert total.present == {LANGUAGE: 3, ZONE: 3, LINK: 4}
    assert total.share(total.complete) == 50.0 and total.gap(95.0) == 45.0
    assert [t.group for t in tiers] == ["high", "mid", "base"]
    assert tiers[1].gap(95.0) == 0.0  # met
    empty, none = completeness([], POLICY)
    assert empty.share(0) is None and empty.gap(95.0) is None and none == []


# --- the use cases over the fakes --------------------------------------------------------

ROSE = Sender(9001, "Rose", language_code="en")


async def _customer(bot: FakeBot, **fields: object) -> Customer:
    now = bot.clock.now()
    async with bot.uow() as uow:
        customer = await uow.customers.add(
            Customer(ROSE.id, ROSE.id, "Rose", "Rose", now, now, language_code="en")
        )
        for name, value in fields.items():
            setattr(customer, name, value)
        await uow.customers.update(customer)
        await uow.commit()
    return customer


def _texts(bot: FakeBot) -> list[str]:
    return [m.template_key for m in bot.messenger.sent]


async def test_a_question_after_a_rating_once_per_field_never_with_an_open_ticket(
    bot: FakeBot,
) -> None:
    customer = await _customer(bot)
    assert customer.id is not None
    now = bot.clock.now()
    ticket = a_ticket(customer.id, ROSE.id, TicketState.INVESTIGATING, now)
    async with bot.uow() as uow:  # an open complaint: not the moment
        await uow.tickets.add(ticket)
        await uow.commit()
    assert await invite(bot.deps, customer) is None
    assert bot.uow.store.profile_asks == {}
    for ticket_id in list(bot.uow.store.tickets):
        bot.uow.store.tickets[ticket_id].state = TicketState.CLOSED
    first = await invite(bot.deps, customer)
    assert first is not None and first.key == "profile.ask.language" and first.params["first"]
    second = await invite(bot.deps, customer)  # language was asked: the next moment asks the zone
    assert second is not None and second.key == "profile.ask.timezone"
    assert (await invite(bot.deps, customer)).key == "profile.ask.link"  # type: ignore[union-attr]
    assert await invite(bot.deps, customer) is None
    assert set(bot.uow.store.profile_asks) == {(customer.id, f) for f in ProfileField}


async def test_in_quiet_hours_the_question_is_held_in_the_outbox(bot: FakeBot) -> None:
    bot.clock.current = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)  # 22:30 in Taipei
    customer = await _customer(bot, timezone="Asia/Taipei", language="zh-Hant")
    assert await invite(bot.deps, customer) is None
    [row] = bot.uow.store.outbox.values()
    assert row.key == f"profile:{customer.id}:link"
    assert row.not_before == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Taipei
    assert row.state is OutboxState.PENDING and "帳戶" in row.message.text


async def test_after_a_first_order_the_sweep_asks_once(bot: FakeBot) -> None:
    now = bot.clock.now()
    complete = Customer(9003, 9003, "Kim", "Kim", now, now, language="en", timezone="UTC")
    complete.customer_ref = "C9"
    other = Customer(9002, 9002, "Old", "Old", now, now)
    async with bot.uow() as uow:
        complete = await uow.customers.add(complete)  # nothing to ask, and first in id order
        other = await uow.customers.add(other)
        await uow.commit()
    customer = await _customer(bot)
    assert customer.id is not None and other.id is not None and complete.id is not None
    bot.uow.store.orders[complete.id] = (OrderFact("K-1", OrderStatus.PAID, now),)
    bot.uow.store.orders[customer.id] = (
        OrderFact("O-1", OrderStatus.PENDING, now - timedelta(hours=2)),
    )
    bot.uow.store.orders[other.id] = (OrderFact("O-0", OrderStatus.PAID, now - timedelta(days=9)),)
    [row] = await ask_after_first_orders(bot.deps, page=1)  # pages on past Kim
    assert bot.uow.store.outbox[row].key == f"profile:{customer.id}:language"
    assert bot.uow.store.outbox[row].not_before == now  # 09:00 in London: not quiet
    assert bot.uow.store.outbox[row].message.chat_id == ROSE.id
    assert await ask_after_first_orders(bot.deps) == []  # the next run: this moment had its round
    assert len(bot.uow.store.outbox) == 1


async def test_answers_chain_the_questions_and_not_now_ends_them(bot: FakeBot) -> None:
    customer = await _customer(bot)
    assert customer.id is not None
    first = await invite(bot.deps, customer)
    assert first is not None
    await bot.press(ROSE, "pf:lang:zh-Hans")
    assert _texts(bot)[-2:] == ["language.changed", "profile.ask.timezone"]
    assert "时区" in bot.messenger.sent[-1].text  # asked in the language just chosen
    await bot.press(ROSE, "pf:tz:Mars/Olympus")  # forged: nothing kept
    await bot.press(ROSE, TYPE_ZONE_DATA)
    await bot.say(ROSE, "Narnia/Cair")
    assert _texts(bot)[-1] == "profile.zone_invalid"
    assert "Narnia/Cair" in bot.messenger.sent[-1].text
    await bot.say(ROSE, "asia/taipei")
    assert _texts(bot)[-2:] == ["profile.zone_saved", "profile.ask.link"]
    await bot.press(ROSE, LATER_DATA)
    assert _texts(bot)[-1] == "profile.later"
    stored = bot.uow.store.customers[customer.id]
    assert (stored.language, stored.timezone) == ("zh-Hans", "Asia/Taipei")
    answers = {f: a.answer for (_c, f), a in bot.uow.store.profile_asks.items()}
    assert answers == {LANGUAGE: Answer.GIVEN, ZONE: Answer.GIVEN, LINK: Answer.LATER}
    assert bot.uow.store.conversations == {}


async def test_link_hands_over_to_the_linking_flow_and_a_question_ends_the_typing(
    bot: FakeBot,
) -> None:
    await _customer(bot, language="en", timezone=None)
    await bot.press(ROSE, TYPE_ZONE_DATA)
    await bot.say(ROSE, "where is my parcel?")  # not a zone: answered as any message
    assert _texts(bot)[-1] != "profile.zone_invalid"
    assert bot.uow.store.conversations == {}
    await bot.press(ROSE, LINK_DATA)
    assert _texts(bot)[-2:] == ["profile.link_chosen", "customers.contact.ask"]
    assert bot.messenger.sent[-1].request_contact


def test_the_settings_are_checked_and_become_the_policy() -> None:
    with pytest.raises(ValidationError, match="not IANA time zones: Mars/Base"):
        Settings(profile_timezones="Asia/Taipei, Mars/Base")
    with pytest.raises(ValidationError, match="profile_fields"):
        Settings(profile_fields="language,phone")
    chosen = policies(
        Settings(profile_fields="link, language", profile_timezones="Europe/London")
    ).profile
    assert chosen.fields == (LINK, LANGUAGE) and chosen.zones == ("Europe/London",)
