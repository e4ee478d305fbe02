"""The core's own delivery errors; each adapter maps its framework's exceptions onto these."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message could not be delivered; subclasses say why."""


class ChatBlocked(DeliveryError):
    """403: the user blocked the bot or was deactivated; stop sending to this chat."""


class ChatGone(DeliveryError):
    """400 "chat not found": the chat no longer exists; do not retry."""


class RateLimited(DeliveryError):
    """429: Telegram asks the whole bot to pause for `retry_after` seconds, then retry."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"retry after {retry_after}s")
        self.retry_after = retry_after


class MessageUnchanged(DeliveryError):
    """400 "message is not modified": an edit that changes nothing; harmless."""


class TransientError(DeliveryError):
    """A network failure or 5xx answer: worth retrying later."""


class UncertainDelivery(TransientError):
    """The request left, but no answer came back: a read timeout, or the connection closed
    before the answer. Telegram may or may not have delivered the message, and the Bot API
    has no way to ask, so a retry may send it twice. Still a :class:`TransientError` (worth
    retrying); the outbox can record the doubt and count such retries against the duplicate
    bound. A failure that certainly kept the request from leaving (connection refused, a
    connect or pool timeout) is a plain :class:`TransientError`, as is a 5xx answer."""


class BadRequest(DeliveryError):
    """Any other 400 answer: the request itself is wrong; retrying will not help."""


class ThreadNotFound(DeliveryError):
    """400 "message thread not found": the forum topic was deleted; recreate it."""
