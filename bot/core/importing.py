"""Validating rows of the shop's customer and order files (issue #5), as pure functions.

Each parser takes one row as a mapping of column name to text (CSV) or JSON value (JSON Lines)
and returns a record or raises :class:`RowError` with a reason a person can act on; the caller
adds the file and line. A row is imported whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.locale import locale_from_language_code
from bot.core.records import OrderStatus, cents, normalise_email, normalise_phone

CUSTOMER_COLUMNS = (
    "customer_ref",
    "name",
    "phone",
    "email",
    "birthday",
    "language",
    "timezone",
    "tags",
)
ORDER_COLUMNS = (
    "order_id",
    "customer_ref",
    "amount",
    "currency",
    "status",
    "created_at",
    "paid_at",
    "delivered_at",
    "coupon_code",
)
_REF = re.compile(r"^[^\s]{1,64}$")
_TAG = re.compile(r"^[\w][\w\-.:/ ]{0,39}$")


class RowError(ValueError):
    """Why a row cannot be imported."""


@dataclass(frozen=True, slots=True)
class CustomerIn:
    customer_ref: str
    name: str | None
    phone: str | None
    email: str | None
    birthday: date | None
    language: str | None
    timezone: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderIn:
    order_id: str
    customer_ref: str
    amount_cents: int
    currency: str
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None
    delivered_at: datetime | None
    coupon_code: str | None


def _text(row: Mapping[str, object], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    text = value.strip() if type(value) is str else str(value).strip()
    return text or None


def _ref(row: Mapping[str, object], name: str) -> str:
    value = _text(row, name)
    if value is None:
        raise RowError(f"{name} is missing")
    if not _REF.match(value):
        raise RowError(f"{name} must be 1–64 characters without spaces")
    return value


def parse_time(value: str, name: str) -> datetime:
    """ISO 8601 with or without a zone, as an aware UTC datetime; naive means UTC.

    Fast path: Python 3.11's :meth:`datetime.fromisoformat` reads the common shapes
    (``2025-01-31T10:00:00``, a space instead of ``T``, fractions, ``Z``, ``+08:00``) in C;
    anything it refuses gets a second chance with ``Z`` spelled as ``+00:00`` and the first
    space as ``T`` before it is rejected."""
    try:
        moment = _fromisoformat(value)
    except ValueError:
        try:
            moment = _fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise RowError(f"{name} {value!r} is not an ISO 8601 time") from None
    zone = moment.tzinfo
    if zone is None:
        return moment.replace(tzinfo=UTC)
    if zone is UTC:
        return moment
    return moment.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


def parse_amount(raw: str) -> int:
    """Whole cents of a non-negative decimal amount with at most two decimals.

    Fast path for plain ASCII digits with an optional 1–2 digit fraction (``12``, ``9.9``,
    ``9.90``); everything else (``1e3``, ``1.500``, ``-1``, ``abc``) goes through
    :class:`~decimal.Decimal` and :func:`~bot.core.records.cents` and their rules.
    Raises :class:`RowError`."""
    whole, dot, fraction = raw.partition(".")
    if whole.isascii() and whole.isdigit():
        if not dot:
            return int(whole) * 100
        if fraction.isascii() and fraction.isdigit():
            if len(fraction) == 2:
                return int(whole) * 100 + int(fraction)
            if len(fraction) == 1:
                return int(whole) * 100 + int(fraction) * 10
    try:
        return cents(Decimal(raw))
    except InvalidOperation:
        raise RowError(f"amount {raw!r} is not a number") from None
    except ValueError as exc:
        raise RowError(f"amount {raw}: {exc}") from None


_STATUSES: dict[str, OrderStatus] = {s.value: s for s in OrderStatus}


def check_header(
    columns: Sequence[str] | None, known: Sequence[str], required: Sequence[str]
) -> None:
    """Raises :class:`RowError` for a header that lacks a required column or names an unknown
    one (a typo would otherwise silently drop a column)."""
    names = [c.strip() for c in columns or ()]
    missing = [c for c in required if c not in names]
    if missing:
        raise RowError(f"missing column(s): {', '.join(missing)}")
    unknown = [c for c in names if c not in known]
    if unknown:
        raise RowError(f"unknown column(s): {', '.join(unknown)}; expected {', '.join(known)}")


def parse_customer(
    row: Mapping[str, object], locales: Sequence[str], phone_country_code: str = ""
) -> CustomerIn:
    ref = _ref(row, "customer_ref")
    phone = email = None
    if raw_phone := _text(row, "phone"):
        phone = normalise_phone(raw_phone, phone_country_code)
        if phone is None:
            raise RowError("phone is not a phone number (7–15 digits, optionally +country code)")
    if raw_email := _text(row, "email"):
        email = normalise_email(raw_email)
        if email is None:
            raise RowError("email is not an e-mail address")
    birthday = None
    if raw_birthday := _text(row, "birthday"):
        try:
            birthday = date.fromisoformat(raw_birthday)
        except ValueError:
            raise RowError(f"birthday {raw_birthday!r} is not a date (YYYY-MM-DD)") from None
        if not date(1900, 1, 1) <= birthday <= datetime.now(UTC).date():
            raise RowError(f"birthday {raw_birthday} is not plausible")
    language = None
    if raw_language := _text(row, "language"):
        language = locale_from_language_code(raw_language, locales)
        if language is None:
            raise RowError(f"language {raw_language!r} is not one of {', '.join(locales)}")
    timezone = None
    if raw_zone := _text(row, "timezone"):
        try:
            ZoneInfo(raw_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise RowError(f"timezone {raw_zone!r} is not an IANA time zone") from None
        timezone = raw_zone
    tags: list[str] = []
    raw_tags = row.get("tags")
    items = raw_tags if isinstance(raw_tags, list) else str(raw_tags or "").split(";")
    for item in items:
        tag = str(item).strip().lower()
        if not tag:
            continue
        if not _TAG.match(tag):
            raise RowError(f"tag {tag!r} is not a tag (letters, digits, -, up to 40 characters)")
        if tag not in tags:
            tags.append(tag)
    name = _text(row, "name")
    if name is not None and len(name) > 255:
        raise RowError("name is longer than 255 characters")
    return CustomerIn(ref, name, phone, email, birthday, language, timezone, tuple(sorted(tags)))


def parse_order(row: Mapping[str, object], shop_currency: str) -> OrderIn:
    order_id = _ref(row, "order_id")
    ref = _ref(row, "customer_ref")
    raw_amount = _text(row, "amount")
    if raw_amount is None:
        raise RowError("amount is missing")
    amount = parse_amount(raw_amount)
    currency = (_text(row, "currency") or shop_currency).upper()
    if currency != shop_currency.upper():
        raise RowError(f"currency {currency} is not the shop's currency {shop_currency.upper()}")
    raw_status = (_text(row, "status") or "").lower()
    status = _STATUSES.get(raw_status)
    if status is None:
        choices = ", ".join(s.value for s in OrderStatus)
        raise RowError(f"status {raw_status!r} is not one of {choices}")
    raw_created = _text(row, "created_at")
    if raw_created is None:
        raise RowError("created_at is missing")
    created = parse_time(raw_created, "created_at")
    paid = delivered = None
    if raw_paid := _text(row, "paid_at"):
        paid = parse_time(raw_paid, "paid_at")
    if raw_delivered := _text(row, "delivered_at"):
        delivered = parse_time(raw_delivered, "delivered_at")
    if status is OrderStatus.PAID and paid is None:
        raise RowError("status paid needs paid_at")
    if paid is not None and paid < created:
        raise RowError("paid_at is before created_at")
    coupon = _text(row, "coupon_code")
    if coupon is not None and len(coupon) > 64:
        raise RowError("coupon_code is longer than 64 characters")
    return OrderIn(order_id, ref, amount, currency, status, created, paid, delivered, coupon)
