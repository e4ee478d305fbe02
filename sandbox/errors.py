"""The error every emulated Bot API method raises to answer ``{"ok": false, ...}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error answer.

    ``code`` is both the HTTP status and ``error_code``; ``parameters`` becomes the
    ``ResponseParameters`` object (``retry_after``, ``migrate_to_chat_id``).
    """

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(text: str) -> ApiError:
    """``400 Bad Request: <text>``."""
    return ApiError(400, f"Bad Request: {text}")


def forbidden(text: str) -> ApiError:
    """``403 Forbidden: <text>``."""
    return ApiError(403, f"Forbidden: {text}")


def too_many_requests(retry_after: int) -> ApiError:
    """``429 Too Many Requests`` carrying ``parameters.retry_after`` (whole seconds, >= 1)."""
    seconds = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


class ConnectionDropped(Exception):
    """The connection is to be closed without any answer (an injected ``drop_before`` or
    ``drop_after`` fault); the HTTP layer closes it."""


CHAT_NOT_FOUND = "chat not found"
THREAD_NOT_FOUND = "message thread not found"
