"""Order events pushed by the shop (issue #10): the signature, the body, and how an event moves
an order — pure functions; the HTTP layer is :mod:`bot.app.events_server`, the write
:mod:`storage.order_events`.

**Signature.** The shop signs the raw request body with HMAC-SHA256 under the shared secret and
sends ``X-Rapport-Signature: sha256=<hex>``; :func:`signature_ok` compares in constant time.

**Body.** One JSON object: ``event`` (one of :data:`EVENT_TYPES`) and the fields of a row of
``rapport import orders`` (:data:`~bot.core.importing.ORDER_COLUMNS`), validated by the very
same :func:`~bot.core.importing.parse_order`. The event gives the order's status
(:data:`EVENT_STATUS`); a ``status`` field, if sent, must agree with it. A ``paid`` event needs
``paid_at`` (as the import does), a ``delivered`` event ``delivered_at``.

**Status order.** An order only moves forward along::

    pending (created)  <  paid  <  delivered  <  refunded = cancelled

An event whose status ranks above the stored one moves the order there and brings its amount,
currency and coupon; any other event (a repeat, a late ``created`` after ``paid``, a
``cancelled`` after ``refunded``) keeps the status and amounts and only fills times the order
lacks (a late ``paid`` after ``delivered`` supplies ``paid_at``). A repeated event therefore
changes nothing, and the order's final state does not depend on the order the events arrived
in, as long as each event carries the order's fields as they were when it happened.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from bot.core.importing import ORDER_COLUMNS, ORDER_REQUIRED, OrderIn, RowError, parse_order
from bot.core.records import OrderStatus

SIGNATURE_HEADER = "X-Rapport-Signature"
SIGNATURE_PREFIX = "sha256="

EVENT_STATUS: dict[str, OrderStatus] = {
    "created": OrderStatus.PENDING,
    "paid": OrderStatus.PAID,
    "delivered": OrderStatus.DELIVERED,
    "refunded": OrderStatus.REFUNDED,
    "cancelled": OrderStatus.CANCELLED,
}
EVENT_TYPES = tuple(EVENT_STATUS)

#: Where each status stands in an order's life; an order never moves to a lower rank.
STATUS_RANK: dict[OrderStatus, int] = {
    OrderStatus.PENDING: 0,
    OrderStatus.PAID: 1,
    OrderStatus.DELIVERED: 2,
    OrderStatus.REFUNDED: 3,
    OrderStatus.CANCELLED: 3,
}

_FIELDS = ("event", *ORDER_COLUMNS)
_REQUIRED = ("event", *(c for c in ORDER_REQUIRED if c != "status"))


class EventError(ValueError):
    """Why an event is refused; the message names the field."""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    event: str
    order: OrderIn


def sign(secret: bytes, body: bytes) -> str:
    """The header value that signs `body`: ``sha256=<hex HMAC-SHA256>``."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant-time compare)."""
    if not header:
        return False
    expected = sign(secret, body).encode("ascii")
    try:
        given = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


def _no_constant(name: str) -> object:
    raise EventError(f"the body is not valid JSON ({name} is not a number)")


def parse_event(body: bytes, shop_currency: str, now: datetime) -> OrderEvent:
    """The event in `body`, or :class:`EventError` naming what is wrong."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise EventError("the body is not UTF-8 text") from None
    except RecursionError:
        raise EventError("the body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or a number too long to read
        if isinstance(exc, EventError):
            raise
        raise EventError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise EventError("the body must be a JSON object")
    unknown = sorted(k for k in data if k not in _FIELDS)
    if unknown:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise EventError(f"unknown field(s) {shown}; expected {', '.join(_FIELDS)}")
    missing = [k for k in _REQUIRED if data.get(k) in (None, "")]
    if missing:
        raise EventError(f"missing field(s) {', '.join(missing)}")
    event = data["event"]
    if not isinstance(event, str) or event not in EVENT_STATUS:
        raise EventError(f"event {str(event)[:40]!r} is not one of {', '.join(EVENT_TYPES)}")
    status = EVENT_STATUS[event]
    given = data.get("status")
    if given not in (None, "") and given != status.value:
        raise EventError(f"status {str(given)[:40]!r} disagrees with event {event!r}")
    row: Mapping[str, object] = {**data, "status": status.value}
    try:
        order = parse_order(row, shop_currency, now=now)
    except RowError as exc:
        raise EventError(str(exc)) from None
    if status is OrderStatus.DELIVERED and order.delivered_at is None:
        raise EventError("event delivered needs delivered_at")
    return OrderEvent(event, order)


def merged(stored: OrderIn | None, incoming: OrderIn) -> OrderIn:
    """The order's state after `incoming` (see "Status order" in the module docstring);
    :class:`EventError` when `incoming` names another customer than the stored order."""
    if stored is None:
        return incoming
    if incoming.customer_ref != stored.customer_ref:
        raise EventError(
            f"customer_ref {incoming.customer_ref!r} is not the customer of order "
            f"{stored.order_id!r}"
        )
    if STATUS_RANK[incoming.status] > STATUS_RANK[stored.status]:
        ahead, behind = incoming, stored
    else:
        ahead, behind = stored, incoming
    return replace(
        ahead,
        customer_ref=stored.customer_ref,
        created_at=stored.created_at,
        paid_at=stored.paid_at or incoming.paid_at,
        delivered_at=stored.delivered_at or incoming.delivered_at,
        coupon_code=ahead.coupon_code or behind.coupon_code,
    )
