"""Validating rows of the shop's customer and order files (issues #5, #14), as pure functions.

Each parser takes one row as a mapping of column name to text (CSV) or JSON value (JSON Lines)
and returns a record or raises :class:`RowError` with a reason a person can act on; the caller
adds the file and line. A row is imported whole or not at all.

Hostile input is refused here, row by row, with the limits named below: a value of the wrong
JSON type (a list where text belongs, ``NaN``, ``true``), text with a NUL byte or a lone
surrogate (neither can be stored or exported safely), a field longer than
:data:`MAX_FIELD_CHARS`, an amount above :data:`MAX_AMOUNT_CENTS`, a time that cannot be
expressed in UTC or lies outside :data:`EARLIEST_TIME` … now + :data:`FUTURE_SLACK`. Text that a
spreadsheet would run as a formula is kept as written: it is neutralised where the project writes
CSV (:mod:`bot.core.spreadsheet`), not at import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, DecimalException
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
    "marketing_consent",
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
#: The longest value a field may hold, in characters (csv's own default limit, 128 KiB).
MAX_FIELD_CHARS = 128 * 1024
#: The largest amount of one order, in cents. The database keeps cents in 64-bit integers and
#: adds a customer's orders up (per day and per RFM window); capping one order at ten thousand
#: million currency units leaves room for nine million such orders per customer in one sum.
MAX_AMOUNT_CENTS = 10**12
_MAX_AMOUNT = Decimal(MAX_AMOUNT_CENTS) / 100
#: Amount text longer than this is refused before any arithmetic (``int`` of a 5,000-digit
#: string raises, and ``1e999999999`` would cost a huge integer).
_MAX_AMOUNT_TEXT = 64
#: The earliest order time accepted (no shop sold anything through rapport before the epoch).
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
#: How far past "now" an order time may lie (clocks and zones differ; a day is plenty).
FUTURE_SLACK = timedelta(days=1)
#: Columns a row cannot do without.
CUSTOMER_REQUIRED = ("customer_ref",)
ORDER_REQUIRED = ("order_id", "customer_ref", "amount", "status", "created_at")
_REF = re.compile(r"^[^\s]{1,64}$")
#: The shape of an IANA zone name ("Asia/Shanghai", "America/Argentina/Buenos_Aires", "UTC").
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,29}(/[A-Za-z0-9_+\-]{1,30}){0,2}")
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
    marketing_consent: bool | None = None
    """What the shop knows of the customer's consent to marketing; None: nothing (kept)."""


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


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_text(value: str, name: str) -> str:
    """`value` if it can be stored and exported as it is; :class:`RowError` for text longer
    than :data:`MAX_FIELD_CHARS`, with a NUL byte, or with a lone surrogate (JSON's
    ``"\\ud800"``, which no UTF-8 database or file can hold)."""
    if len(value) > MAX_FIELD_CHARS:
        raise RowError(f"{name} is longer than {MAX_FIELD_CHARS} characters")
    if "\x00" in value:
        raise RowError(f"{name} contains a NUL byte")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RowError(f"{name} is not valid Unicode (a lone surrogate)") from None
    return value


def _text(row: Mapping[str, object], name: str, *, numbers: bool = False) -> str | None:
    """The stripped text of a field, None when empty. JSON values must be strings (or null);
    with `numbers`, whole numbers are taken as their digits too (a numeric id)."""
    value = row.get(name)
    if value is None:
        return None
    if type(value) is not str:
        if numbers and type(value) is int and abs(value) < 10**64:
            value = str(value)
        else:
            raise RowError(f"{name} must be text, not {_json_type(value)}")
    text = check_text(value, name).strip()
    return text or None


def _ref(row: Mapping[str, object], name: str) -> str:
    value = _text(row, name, numbers=True)
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
            raise RowError(f"{name} {_shown(value)} is not an ISO 8601 time") from None
    zone = moment.tzinfo
    if zone is None:
        return moment.replace(tzinfo=UTC)
    if zone is UTC:
        return moment
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise RowError(f"{name} {value} is out of range once converted to UTC") from None


def check_time(moment: datetime, name: str, now: datetime) -> datetime:
    """`moment` if it lies between :data:`EARLIEST_TIME` and `now` + :data:`FUTURE_SLACK`."""
    if moment < EARLIEST_TIME:
        raise RowError(f"{name} is before {EARLIEST_TIME.date().isoformat()}")
    if moment > now + FUTURE_SLACK:
        raise RowError(f"{name} is more than a day in the future")
    return moment


def _shown(value: str, limit: int = 40) -> str:
    """`value` quoted for an error message, cut to `limit` characters."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"


_fromisoformat = datetime.fromisoformat


def parse_amount(raw: str) -> int:
    """Whole cents of a non-negative decimal amount with at most two decimals.

    Fast path for plain ASCII digits with an optional 1–2 digit fraction (``12``, ``9.9``,
    ``9.90``); everything else (``1e3``, ``1.500``, ``-1``, ``abc``) goes through
    :class:`~decimal.Decimal` and :func:`~bot.core.records.cents` and their rules.
    Raises :class:`RowError`, also for amounts above :data:`MAX_AMOUNT_CENTS`."""
    if len(raw) > _MAX_AMOUNT_TEXT:
        raise RowError(f"amount {_shown(raw)} is longer than {_MAX_AMOUNT_TEXT} characters")
    whole, dot, fraction = raw.partition(".")
    if whole.isascii() and whole.isdigit():
        if not dot:
            return _in_range(int(whole) * 100, raw)
        if fraction.isascii() and fraction.isdigit():
            if len(fraction) == 2:
                return _in_range(int(whole) * 100 + int(fraction), raw)
            if len(fraction) == 1:
                return _in_range(int(whole) * 100 + int(fraction) * 10, raw)
    try:
        amount = Decimal(raw)
        if amount.is_finite():  # before any arithmetic, which could overflow or underflow
            if amount > _MAX_AMOUNT:
                raise RowError(_too_large(raw))
            if amount and amount.adjusted() < -2:
                raise RowError(f"amount {_shown(raw)} has more than two decimals")
        return cents(amount)
    except RowError:
        raise
    except DecimalException:
        raise RowError(f"amount {_shown(raw)} is not a number") from None
    except ValueError as exc:
        raise RowError(f"amount {_shown(raw)}: {exc}") from None


def _in_range(amount_cents: int, raw: str) -> int:
    if amount_cents > MAX_AMOUNT_CENTS:
        raise RowError(_too_large(raw))
    return amount_cents


def _too_large(raw: str) -> str:
    return f"amount {_shown(raw)} is larger than the largest amount, {MAX_AMOUNT_CENTS // 100}"


def _amount(row: Mapping[str, object]) -> int:
    """The amount in cents: text, or a JSON number (finite, not true/false)."""
    value = row.get("amount")
    if isinstance(value, bool) or not isinstance(value, str | int | float | None):
        raise RowError(f"amount must be a number or text, not {_json_type(value)}")
    if isinstance(value, int):
        if abs(value) > MAX_AMOUNT_CENTS:  # before str(): huge ints cannot even be printed
            raise RowError(f"amount is larger than the largest amount, {MAX_AMOUNT_CENTS // 100}")
        value = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise RowError("amount must be a finite number")
        value = repr(value)
    raw = _text({"amount": value}, "amount")
    if raw is None:
        raise RowError("amount is missing")
    return parse_amount(raw)


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
    unknown = [_shown(c) for c in names if c not in known]
    if unknown:
        listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if unknown[5:] else "")
        raise RowError(f"unknown column(s): {listed}; expected {', '.join(known)}")
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise RowError(f"column(s) named twice: {', '.join(duplicated)}")


def parse_customer(
    row: Mapping[str, object],
    locales: Sequence[str],
    phone_country_code: str = "",
    *,
    today: date | None = None,
) -> CustomerIn:
    """A customer row; `today` (default: the UTC date now) bounds the birthday."""
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
            shown = _shown(raw_birthday)
            raise RowError(f"birthday {shown} is not a date (YYYY-MM-DD)") from None
        if not date(1900, 1, 1) <= birthday <= (today or datetime.now(UTC).date()):
            raise RowError(f"birthday {raw_birthday} is not plausible")
    language = None
    if raw_language := _text(row, "language"):
        language = locale_from_language_code(raw_language, locales)
        if language is None:
            raise RowError(f"language {_shown(raw_language)} is not one of {', '.join(locales)}")
    timezone = None
    if raw_zone := _text(row, "timezone"):
        try:
            if not _ZONE.fullmatch(raw_zone):  # before ZoneInfo, which opens a file by name
                raise ValueError(raw_zone)
            ZoneInfo(raw_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise RowError(f"timezone {_shown(raw_zone)} is not an IANA time zone") from None
        timezone = raw_zone
    tags: list[str] = []
    raw_tags = row.get("tags")
    items: list[object] = (
        list(raw_tags) if isinstance(raw_tags, list) else [*(_text(row, "tags") or "").split(";")]
    )
    for item in items:
        if not isinstance(item, str):
            raise RowError(f"tags must be text or a list of text; one is {_json_type(item)}")
        tag = item.strip().lower()
        if not tag:
            continue
        if not _TAG.match(tag):
            raise RowError(
                f"tag {_shown(tag)} is not a tag (letters, digits, -, up to 40 characters)"
            )
        if tag not in tags:
            tags.append(tag)
    name = _text(row, "name")
    if name is not None and len(name) > 255:
        raise RowError("name is longer than 255 characters")
    return CustomerIn(
        ref,
        name,
        phone,
        email,
        birthday,
        language,
        timezone,
        tuple(sorted(tags)),
        _consent(row),
    )


_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})


def _consent(row: Mapping[str, object]) -> bool | None:
    """``marketing_consent``: yes/no, true/false, 1/0 (any case; JSON booleans too); empty
    says nothing."""
    raw = row.get("marketing_consent")
    if type(raw) is bool:
        return raw
    text = _text(row, "marketing_consent")
    if text is None:
        return None
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise RowError(f"marketing_consent {_shown(text)} is not yes or no")


def parse_order(
    row: Mapping[str, object], shop_currency: str, *, now: datetime | None = None
) -> OrderIn:
    """An order row; its times must lie between :data:`EARLIEST_TIME` and `now` (default: the
    time now) plus :data:`FUTURE_SLACK`."""
    latest = now or datetime.now(UTC)
    order_id = _ref(row, "order_id")
    ref = _ref(row, "customer_ref")
    amount = _amount(row)
    currency = (_text(row, "currency") or shop_currency).upper()
    if currency != shop_currency.upper():
        shown = _shown(currency)
        raise RowError(f"currency {shown} is not the shop's currency {shop_currency.upper()}")
    raw_status = (_text(row, "status") or "").lower()
    status = _STATUSES.get(raw_status)
    if status is None:
        choices = ", ".join(s.value for s in OrderStatus)
        raise RowError(f"status {_shown(raw_status)} is not one of {choices}")
    raw_created = _text(row, "created_at")
    if raw_created is None:
        raise RowError("created_at is missing")
    created = check_time(parse_time(raw_created, "created_at"), "created_at", latest)
    paid = delivered = None
    if raw_paid := _text(row, "paid_at"):
        paid = check_time(parse_time(raw_paid, "paid_at"), "paid_at", latest)
    if raw_delivered := _text(row, "delivered_at"):
        delivered = check_time(parse_time(raw_delivered, "delivered_at"), "delivered_at", latest)
    if status is OrderStatus.PAID and paid is None:
        raise RowError("status paid needs paid_at")
    if paid is not None and paid < created:
        raise RowError("paid_at is before created_at")
    coupon = _text(row, "coupon_code")
    if coupon is not None and len(coupon) > 64:
        raise RowError("coupon_code is longer than 64 characters")
    return OrderIn(order_id, ref, amount, currency, status, created, paid, delivered, coupon)
