"""Paid broadcasts: the setting raises the bot-wide pace; per-chat and per-group limits stay."""

from __future__ import annotations

from bot.app.policies import policies
from bot.app.runner import connection
from bot.app.settings import Settings


def test_paid_broadcast_raises_only_the_bot_wide_rate() -> None:
    plain = Settings(bot_token="123456:TEST", global_messages_per_second=25.0)
    paid = plain.model_copy(update={"paid_broadcast": True})
    normal, raised = policies(plain).delivery.limits, policies(paid).delivery.limits
    assert (normal.global_per_second, raised.global_per_second) == (25.0, 1000.0)
    assert raised.chat_per_second == normal.chat_per_second
    assert raised.chat_burst == normal.chat_burst
    assert raised.group_per_minute == normal.group_per_minute


def test_the_paid_rate_is_a_setting_and_reaches_the_adapters() -> None:
    settings = Settings(
        bot_token="123456:TEST", paid_broadcast=True, paid_messages_per_second=400.0
    )
    assert policies(settings).delivery.limits.global_per_second == 400.0
    assert connection(settings).paid_broadcast
    assert not connection(Settings(bot_token="123456:TEST")).paid_broadcast


def test_one_request_timeout_for_both_frameworks_is_a_setting() -> None:
    settings = Settings(bot_token="123456:TEST", telegram_request_timeout_seconds=7.5)
    assert connection(settings).request_timeout_seconds == 7.5
    assert connection(Settings(bot_token="123456:TEST")).request_timeout_seconds == 10.0


def test_the_connection_pool_is_sized_for_the_bot_wide_rate() -> None:
    """200 connections at the paid 1000/s (0.2 s each), the floor of 16 at 25/s; both
    numbers are settings."""
    plain = Settings(bot_token="123456:TEST", global_messages_per_second=25.0)
    assert connection(plain).connections == 16
    paid = plain.model_copy(update={"paid_broadcast": True})
    assert connection(paid).connections == 200
    tuned = paid.model_copy(
        update={"telegram_connection_seconds": 0.05, "telegram_connections_min": 64}
    )
    assert connection(tuned).connections == 64
    faster = tuned.model_copy(update={"paid_messages_per_second": 2000})
    assert connection(faster).connections == 100
