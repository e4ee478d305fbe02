"""The emulator counts a message's length as Telegram does: after entity parsing.

Telegram's 4,096-character limit applies to the text a user sees, not to the HTML source, so a
card whose escaped quote makes the source longer still goes through — and must in tests too.
"""

from __future__ import annotations

import pytest

from sandbox.errors import ApiError
from sandbox.spec import load_spec
from sandbox.validation import validate_params

SPEC = load_spec()


def send(text: str, **extra: object) -> None:
    validate_params(SPEC, "sendMessage", {"chat_id": 1, "text": text, **extra})


def test_the_limit_counts_visible_characters_of_html() -> None:
    escaped = "&lt;" * 1000 + "x" * 3000  # 4,000 visible characters, 7,000 in the source
    send(f"<b>{escaped}</b>", parse_mode="HTML")
    with pytest.raises(ApiError, match="too long"):
        send(escaped)  # without a parse mode, the source is the text
    with pytest.raises(ApiError, match="too long"):
        send("<i>" + "y" * 4097 + "</i>", parse_mode="HTML")


def test_captions_count_visible_characters_too() -> None:
    validate_params(
        SPEC,
        "copyMessage",
        {
            "chat_id": 1,
            "from_chat_id": 2,
            "message_id": 3,
            "caption": "<b>" + "&amp;" * 1000 + "</b>",
            "parse_mode": "HTML",
        },
    )
