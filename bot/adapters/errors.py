"""Reading Telegram's error answers into the core's delivery errors, for both adapters.

python-telegram-bot strips "Bad Request: " and capitalises the rest, so texts are compared
case-insensitively, by fragment.
"""

from __future__ import annotations

from bot.core.errors import (
    BadRequest,
    ChatBlocked,
    ChatGone,
    DeliveryError,
    MessageUnchanged,
    ThreadNotFound,
)


def from_bad_request(description: str) -> DeliveryError:
    """A 400 answer → the matching core error."""
    text = description.lower()
    if "chat not found" in text or "peer_id_invalid" in text:
        return ChatGone(description)
    if "message thread not found" in text or "topic_deleted" in text:
        return ThreadNotFound(description)
    if "message is not modified" in text or "topic_not_modified" in text:
        return MessageUnchanged(description)
    if "bot was blocked" in text or "user is deactivated" in text:
        return ChatBlocked(description)
    return BadRequest(description)


def from_forbidden(description: str) -> DeliveryError:
    """A 403 answer: blocked, deactivated, kicked — the chat cannot be reached."""
    return ChatBlocked(description)
