"""Customer records (SPEC §2, §12): contact data, tags, consent, orders, and the pure rules
around them — phone and e-mail normalisation, signed deep-link tokens, key derivation.

Contact data travels through the core in plain text inside :class:`CustomerProfile`; the
storage encrypts it on the way in and decrypts it on the way out (and keeps a keyed blind index
for lookups by phone or e-mail), so no ciphertext and no key handling leaks into the core.
Everything here is standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from bot.core.tiers import Lifecycle, Segment, Tier


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    DELIVERED = "delivered"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"

    @property
    def counts_as_paid(self) -> bool:
        """Paid and delivered orders count for RFM; refunded and cancelled ones do not."""
        return self in (OrderStatus.PAID, OrderStatus.DELIVERED)


class PersonalDataError(Exception):
    """Personal data cannot be stored or read: no encryption key is configured, or the key
    is not the one the data was written with."""


@dataclass(slots=True)
class CustomerProfile:
    """What the business knows about a customer beyond their Telegram identity.

    `phone`, `email` and `birthday` are personal data (encrypted at rest); `phone` is kept
    normalised (:func:`normalise_phone`), `email` lower-cased. Marketing consent is absent until
    given: `marketing_consent_at` says when it was given (or withdrawn, with the flag False).
    """

    customer_id: int
    phone: str | None = None
    email: str | None = None
    birthday: date | None = None
    tags: tuple[str, ...] = ()
    marketing_consent: bool = False
    marketing_consent_at: datetime | None = None

    @property
    def has_personal_data(self) -> bool:
        return bool(self.phone or self.email or self.birthday)


@dataclass(frozen=True, slots=True)
class TierInfo:
    """A customer's standing as of the last recompute (SPEC §3), for every other feature.

    Scores, tier and segment are None/prospect for customers without a paid order in the
    window; `recency_days` is None for customers who never paid."""

    customer_id: int
    tier: Tier
    lifecycle: Lifecycle
    segment: Segment | None
    recency_days: int | None
    frequency: int
    monetary_cents: int
    r_score: int | None
    f_score: int | None
    m_score: int | None
    as_of: date


@dataclass(frozen=True, slots=True)
class TierChange:
    customer_id: int
    as_of: date
    old_tier: Tier | None
    new_tier: Tier


@dataclass(frozen=True, slots=True)
class CustomerExport:
    """Everything held about one customer (SPEC §12), decrypted, for `customer export`."""

    customer: dict[str, object]
    profile: dict[str, object] | None
    standing: dict[str, object] | None
    tier_history: list[dict[str, object]] = field(default_factory=list)
    orders: list[dict[str, object]] = field(default_factory=list)
    messages: list[dict[str, object]] = field(default_factory=list)
    requests: list[dict[str, object]] = field(default_factory=list)
    tickets: list[dict[str, object]] = field(default_factory=list)
    ticket_events: list[dict[str, object]] = field(default_factory=list)
    ratings: list[dict[str, object]] = field(default_factory=list)
    consent_log: list[dict[str, object]] = field(default_factory=list)
    surveys: list[dict[str, object]] = field(default_factory=list)
    """Satisfaction surveys sent to them, with their score and comment."""


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_phone(raw: str, country_code: str = "") -> str | None:
    """An E.164-like form, ``+`` and digits, or None when `raw` is not a phone number.

    ``+44 7700 900123``, ``0044 7700 900123`` and Telegram's ``447700900123`` all become
    ``+447700900123``; a national number with a trunk ``0`` gets `country_code` if one is
    configured. Telegram sends contact numbers without ``+``, so digits alone are read as
    international.
    """
    text = _PHONE_PUNCTUATION.sub("", raw.strip())
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif text.startswith("0") and country_code:
        digits = country_code + text[1:]
    else:
        digits = text
    if not digits.isdigit() or not 7 <= len(digits) <= 15 or not digits.isascii():
        return None
    return "+" + digits


def normalise_email(raw: str) -> str | None:
    text = raw.strip().lower()
    return text if _EMAIL.match(text) else None


# --------------------------------------------------------------------------------------------
# Keys and deep-link tokens
# --------------------------------------------------------------------------------------------


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) of `master` for one `purpose`, so the encryption key, the blind
    index key and the link-signing key are independent although configured as one secret."""
    prk = hmac.new(b"rapport-hkdf-salt-v1", master, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + purpose.encode() + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def decode_master_key(value: str) -> bytes:
    """The configured key (URL-safe base64 of 32 bytes); ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("the encryption key is not URL-safe base64") from exc
    if len(raw) != 32:
        raise ValueError("the encryption key must be 32 bytes (URL-safe base64, 43–44 characters)")
    return raw


LINK_PURPOSE = "rapport link token v1"
_TOKEN = struct.Struct(">QI")  # customer id, expiry (unix seconds)
_MAC_BYTES = 12


class LinkTokenError(Exception):
    """A deep-link token that cannot be used; `reason` is ``"invalid"`` or ``"expired"``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_link_token(customer_id: int, expires_at: datetime, key: bytes) -> str:
    """A ``/start`` payload naming `customer_id` until `expires_at`: 32 characters of
    ``[A-Za-z0-9_-]`` (Telegram allows 64), an HMAC-SHA256 over id and expiry."""
    body = _TOKEN.pack(customer_id, int(expires_at.timestamp()))
    mac = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def read_link_token(token: str, now: datetime, key: bytes) -> int:
    """The customer id in a valid token; raises :class:`LinkTokenError` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raise LinkTokenError("invalid") from None
    if len(raw) != _TOKEN.size + _MAC_BYTES:
        raise LinkTokenError("invalid")
    body, mac = raw[: _TOKEN.size], raw[_TOKEN.size :]
    expected = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise LinkTokenError("invalid")
    customer_id, expires = _TOKEN.unpack(body)
    if now.timestamp() > expires:
        raise LinkTokenError("expired")
    return int(customer_id)


def cents(amount: Decimal) -> int:
    """Whole cents of a non-negative amount with at most two decimals (ValueError otherwise)."""
    if not amount.is_finite() or amount < 0:
        raise ValueError("amount must be a non-negative number")
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValueError("amount has more than two decimals")
    return int(scaled)
