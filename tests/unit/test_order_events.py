"""Order events as pure functions (issue #10): the signature, the body, and an order that
only moves forward whatever order its events arrive in."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.order_events import EventError, merged, parse_event, sign, signature_ok
from bot.core.records import OrderStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TIMES = {
    "created_at": NOW - timedelta(hours=3),
    "paid_at": NOW - timedelta(hours=2),
    "delivered_at": NOW - timedelta(hours=1),
}
NEEDS = {
    "created": ("created_at",),
    "paid": ("created_at", "paid_at"),
    "delivered": ("created_at", "paid_at", "delivered_at"),
    "refunded": ("created_at", "paid_at"),
    "cancelled": ("created_at",),
}


def body(kind: str, **extra: Any) -> bytes:
    fields = {k: TIMES[k].isoformat() for k in NEEDS[kind]}
    row = {"event": kind, "order_id": "A-1", "customer_ref": "C-1", "amount": 12, **fields}
    return json.dumps(row | extra).encode()


def test_the_signature_is_the_hmac_of_the_exact_body() -> None:
    raw = body("created")
    assert signature_ok(b"k", raw, sign(b"k", raw))
    assert signature_ok(b"k", raw, " " + sign(b"k", raw) + " ")
    assert not signature_ok(b"k", raw + b" ", sign(b"k", raw))
    assert not signature_ok(b"other", raw, sign(b"k", raw))
    assert not signature_ok(b"k", raw, sign(b"k", raw).upper())
    assert not signature_ok(b"k", raw, "sha256=é")
    assert not signature_ok(b"k", raw, None)


def test_the_event_gives_the_status_and_the_import_validates_the_rest() -> None:
    event = parse_event(body("paid"), "CNY", NOW)
    assert event.event == "paid" and event.order.status is OrderStatus.PAID
    assert event.order.amount_cents == 1200 and event.order.paid_at == TIMES["paid_at"]
    with pytest.raises(EventError, match="amount"):
        parse_event(body("paid", amount="12.345"), "CNY", NOW)


@pytest.mark.parametrize(
    "kinds",
    [
        ("created", "paid", "delivered"),
        ("created", "paid", "refunded"),
        ("created", "paid", "delivered", "refunded"),
        ("created", "cancelled"),
    ],
)
def test_the_final_state_does_not_depend_on_the_arrival_order(kinds: tuple[str, ...]) -> None:
    events = [parse_event(body(kind), "CNY", NOW).order for kind in kinds]
    finals = set()
    for arrival in itertools.permutations(events):
        state = None
        for incoming in arrival:
            state = merged(state, incoming)
            assert merged(state, incoming) == state, "a repeat changes nothing"
        finals.add(state)
    assert len(finals) == 1
    [final] = finals
    assert final is not None and final.status is events[-1].status


def test_an_event_for_another_customer_is_refused() -> None:
    stored = parse_event(body("created"), "CNY", NOW).order
    other = parse_event(body("paid", customer_ref="C-2"), "CNY", NOW).order
    with pytest.raises(EventError, match="customer_ref"):
        merged(stored, other)
