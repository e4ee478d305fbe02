"""Pure rules of customer records and linking, and the linking handlers over fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.settings import LOCALES
from bot.core.dispatch import Dispatcher
from bot.core.importing import RowError, parse_amount, parse_customer, parse_order, parse_time
from bot.core.messages import ContentKind, Reply, Sender
from bot.core.models import Customer
from bot.core.records import (
    CustomerProfile,
    LinkTokenError,
    cents,
    derive_key,
    make_link_token,
    normalise_email,
    normalise_phone,
    read_link_token,
)
from bot.core.routing import Contact, matches
from bot.core.services.linking import link_url
from bot.handlers.routes import ROUTING
from storage.crypto import new_key
from tests.fakes import FrozenClock
from tests.unit.conftest import FakeBot

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
KEY = derive_key(b"k" * 32, "test")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("0044-7700-900123", "+447700900123"),
        ("447700900123", "+447700900123"),
        ("(+86) 138.0013.8000", "+8613800138000"),
        ("call me", None),
        ("+12", None),
    ],
)
def test_phones_are_normalised(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_national_numbers_get_the_configured_country_code() -> None:
    assert normalise_phone("07700 900123", "44") == "+447700900123"
    assert normalise_email(" Ada@Example.COM ") == "ada@example.com"
    assert normalise_email("ada@") is None


def test_link_tokens_are_signed_and_expire() -> None:
    token = make_link_token(42, NOW + timedelta(days=1), KEY)
    assert len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()
    assert read_link_token(token, NOW, KEY) == 42
    with pytest.raises(LinkTokenError) as expired:
        read_link_token(token, NOW + timedelta(days=2), KEY)
    assert expired.value.reason == "expired"
    tampered = ("A" if token[0] != "A" else "B") + token[1:]
    for bad in (tampered, token[:-2], "hello", ""):
        with pytest.raises(LinkTokenError) as invalid:
            read_link_token(bad, NOW, KEY)
        assert invalid.value.reason == "invalid"
    with pytest.raises(LinkTokenError):
        read_link_token(token, NOW, derive_key(b"x" * 32, "test"))


def test_amounts_are_whole_cents() -> None:
    from decimal import Decimal

    assert cents(Decimal("12.5")) == 1250
    for bad in ("1.001", "-1", "NaN"):
        with pytest.raises(ValueError):
            cents(Decimal(bad))


def test_rows_are_validated_with_reasons() -> None:
    row = {"customer_ref": "C1", "phone": "+44 7700 900123", "language": "zh-TW", "tags": "B;a;b"}
    parsed = parse_customer(row, LOCALES)
    assert (parsed.phone, parsed.language, parsed.tags) == ("+447700900123", "zh-Hant", ("a", "b"))
    with pytest.raises(RowError, match="timezone"):
        parse_customer({"customer_ref": "C1", "timezone": "Nowhere/Else"}, LOCALES)
    order = {
        "order_id": "O1",
        "customer_ref": "C1",
        "amount": "9.90",
        "status": "PAID",
        "created_at": "2025-01-01 02:00:00",
        "paid_at": "2025-01-01T11:00:00+08:00",
    }
    parsed_order = parse_order(order, "CNY")
    assert parsed_order.created_at == datetime(2025, 1, 1, 2, tzinfo=UTC)
    assert parsed_order.paid_at == datetime(2025, 1, 1, 3, tzinfo=UTC)
    assert parsed_order.amount_cents == 990
    with pytest.raises(RowError, match="paid_at is before created_at"):
        parse_order(order | {"paid_at": "2024-12-31T00:00:00Z"}, "CNY")
    with pytest.raises(RowError, match="status 'lost'"):
        parse_order(order | {"status": "lost"}, "CNY")


def with_key(bot: FakeBot) -> FakeBot:
    """The shared fake bot, with an encryption key and a clock at NOW."""
    bot.configure(encryption_key=new_key(), bot_username="shop_bot")
    bot.clock = FrozenClock(NOW)
    bot.deps = replace(bot.deps, clock=bot.clock)
    bot.dispatcher = Dispatcher(bot.deps, ROUTING)
    return bot


async def imported(bot: FakeBot, ref: str, phone: str | None = None) -> Customer:
    async with bot.uow() as uow:
        customer = await uow.customers.add(
            Customer(None, None, "Ada Lovelace", "Ada", NOW, NOW, customer_ref=ref)
        )
        assert customer.id is not None
        await uow.records.save_profile(CustomerProfile(customer.id, phone=phone, tags=("vip",)))
        await uow.commit()
    return customer


ADA = Sender(id=901, first_name="Ada", language_code="en")
EVE = Sender(id=902, first_name="Eve", language_code="en")


async def test_a_deep_link_links_the_telegram_user_once(bot: FakeBot) -> None:
    bot = with_key(bot)
    record = await imported(bot, "C1")
    assert record.id is not None
    url = link_url(bot.deps.policies.linking, record.id, NOW)
    assert url.startswith("https://t.me/shop_bot?start=")
    token = url.rsplit("=", 1)[1]
    await bot.say(ADA, f"/start {token}")
    assert bot.messenger.template_keys() == ["customers.link.linked"]
    async with bot.uow() as uow:
        ada = await uow.customers.get_by_telegram_id(ADA.id)
        assert ada is not None and ada.customer_ref == "C1" and ada.id is not None
        assert await uow.records.get_by_ref("C1") == ada
        profile = await uow.records.profile(ada.id)
        assert profile is not None and profile.tags == ("vip",)
    await bot.say(ADA, f"/start {token}")
    await bot.say(EVE, f"/start {token}")  # the record now belongs to Ada
    await bot.say(EVE, "/start garbage")
    assert bot.messenger.template_keys()[1:] == [
        "customers.link.already",
        "customers.link.invalid",
        "customers.link.invalid",
    ]
    key = bot.deps.policies.linking.key
    assert key is not None
    old = make_link_token(record.id, NOW - timedelta(seconds=1), key)
    await bot.say(EVE, f"/start {old}")
    assert bot.messenger.template_keys()[-1] == "customers.link.expired"


async def test_sharing_ones_own_phone_links_but_someone_elses_does_not(bot: FakeBot) -> None:
    bot = with_key(bot)
    await imported(bot, "C2", phone="+447700900123")
    await bot.say(ADA, "/link")
    ask = bot.messenger.assert_sent("customers.contact.ask")
    assert ask.request_contact == "📱 Share my phone number"

    def contact(sender: Sender, phone: str, owner: int) -> object:
        return bot.incoming(
            sender,
            text=None,
            content=ContentKind.CONTACT,
            contact_phone=phone,
            contact_user_id=owner,
        )

    msg = contact(EVE, "447700900123", ADA.id)
    assert matches(Contact(), msg)  # type: ignore[arg-type]
    await bot.feed(msg)  # type: ignore[arg-type]
    assert bot.messenger.template_keys()[-1] == "customers.link.not_yours"
    await bot.feed(contact(ADA, "+44 7700 900999", ADA.id))  # type: ignore[arg-type]
    assert bot.messenger.template_keys()[-1] == "customers.link.not_found"
    await bot.feed(contact(ADA, "447700900123", ADA.id))  # type: ignore[arg-type]
    linked = bot.messenger.sent[-1]
    assert linked.template_key == "customers.link.linked" and linked.remove_keyboard
    async with bot.uow() as uow:
        ada = await uow.customers.get_by_telegram_id(ADA.id)
        assert ada is not None and ada.customer_ref == "C2"


async def test_without_a_key_linking_is_politely_unavailable(bot: FakeBot) -> None:
    await bot.say(ADA, "/start sometoken")
    assert bot.messenger.template_keys() == ["customers.link.unavailable"]
    assert Reply("x", request_contact_key="customers.contact.button").request_contact_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-01-01T10:00:00", datetime(2025, 1, 1, 10, tzinfo=UTC)),  # naive means UTC
        ("2025-01-01 10:00:00", datetime(2025, 1, 1, 10, tzinfo=UTC)),
        ("2025-01-01T10:00", datetime(2025, 1, 1, 10, tzinfo=UTC)),
        ("2025-01-01", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T10:00:00.250", datetime(2025, 1, 1, 10, 0, 0, 250_000, tzinfo=UTC)),
        ("2025-01-01T10:00:00Z", datetime(2025, 1, 1, 10, tzinfo=UTC)),
        ("2025-01-01 10:00:00Z", datetime(2025, 1, 1, 10, tzinfo=UTC)),
        ("2025-01-01T10:00:00+00:00", datetime(2025, 1, 1, 10, tzinfo=UTC)),
        ("2025-01-01T10:00:00+08:00", datetime(2025, 1, 1, 2, tzinfo=UTC)),
        ("2025-01-01T01:00:00-05:30", datetime(2025, 1, 1, 6, 30, tzinfo=UTC)),
        ("2025-01-01T00:30:00+01:00", datetime(2024, 12, 31, 23, 30, tzinfo=UTC)),
    ],
)
def test_times_with_and_without_zone_become_aware_utc(raw: str, expected: datetime) -> None:
    parsed = parse_time(raw, "created_at")
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "2025-13-01T00:00:00",
        "2025-01-01T25:00",
        "01/02/2025",
        "2025-01-01T10:00:00+25:00",
        "",
    ],
)
def test_malformed_times_are_rejected_with_the_column_name(raw: str) -> None:
    with pytest.raises(RowError, match=r"paid_at .* is not an ISO 8601 time"):
        parse_time(raw, "paid_at")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 1200), ("9.9", 990), ("9.90", 990), ("0.05", 5), ("007.10", 710), ("1.500", 150),
     ("1e2", 10000), ("12.", 1200), (".5", 50)],
)  # fmt: skip
def test_amounts_fast_path_and_decimal_path_agree(raw: str, expected: int) -> None:
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("-1", "non-negative"), ("1.001", "more than two decimals"), ("abc", "not a number"),
     ("١٢", None), ("NaN", "non-negative")],
)  # fmt: skip
def test_bad_amounts_are_rejected(raw: str, reason: str | None) -> None:
    from decimal import Decimal

    if reason is None:  # non-ASCII digits: whatever Decimal says, never the fast path
        assert parse_amount(raw) == cents(Decimal(raw))
        return
    with pytest.raises(RowError, match=reason):
        parse_amount(raw)
