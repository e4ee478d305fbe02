"""Injected failures: make chosen requests answer like a blocked user, a vanished chat, a
flaky Telegram, a slow network, a flood wait or a deleted forum topic, or not answer in time
(``slow``) or at all (``drop_before``, ``drop_after``).

The last three are *answer* faults: what the client sees is a timeout or a closed connection,
and only the emulator knows whether the request was applied (the message exists) or not —
exactly the doubt a real bot faces after a network failure. :attr:`RecordedRequest.fault
<sandbox.emulator.RecordedRequest.fault>` tells a test which one hit a request."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from .errors import THREAD_NOT_FOUND, ApiError, bad_request, forbidden, too_many_requests

logger = logging.getLogger(__name__)

FaultKind = Literal[
    "blocked",
    "chat_not_found",
    "server_error",
    "delay",
    "retry_after",
    "thread_not_found",
    "slow",
    "drop_before",
    "drop_after",
]

ANSWER_FAULTS: frozenset[str] = frozenset({"slow", "drop_before", "drop_after"})
"""Kinds that change how (or whether) the answer reaches the client, not what it says."""

#: Methods a fault without ``method`` leaves alone, so that polling keeps working.
SERVICE_METHODS: frozenset[str] = frozenset(
    {"getUpdates", "getMe", "setWebhook", "deleteWebhook", "getWebhookInfo", "close", "logOut"}
)


@dataclass
class Fault:
    """One injected failure.

    Matches requests whose ``chat_id`` equals ``chat_id`` (when given) and whose method is
    ``method`` (when given; without it every method except :data:`SERVICE_METHODS` matches).
    ``times`` is how many more requests it hits; ``None`` means until
    :meth:`~sandbox.Emulator.clear_faults`. ``delay`` seconds are slept by ``kind="delay"``
    (on the emulator's clock, before the request is applied; it then answers normally);
    ``retry_after`` is used by ``kind="retry_after"``.

    Answer faults:

    - ``slow``: the request is applied as usual (the message exists), then the answer is held
      for ``delay`` *real* seconds — a client's read timeout is real time even when the
      emulator runs on a virtual clock — or until the client gives up and closes the
      connection, whichever comes first. Give a ``delay`` above the client's read timeout
      and it sees a timeout for a request that succeeded.
    - ``drop_before``: the connection is closed without an answer and the request is not
      applied.
    - ``drop_after``: the request is applied, then the connection is closed without an answer.
    """

    kind: FaultKind
    chat_id: int | str | None = None
    method: str | None = None
    times: int | None = None
    delay: float = 0.0
    retry_after: int = 1

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        """Whether this fault applies to a call of ``method`` for ``chat_id``."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None:
            if self.method.lower() != method.lower():
                return False
        elif method in SERVICE_METHODS:
            return False
        return self.chat_id is None or (chat_id is not None and str(self.chat_id) == str(chat_id))

    def error(self) -> ApiError | None:
        """The error this fault answers with (``None`` for ``delay`` and answer faults)."""
        if self.kind == "blocked":
            return forbidden("bot was blocked by the user")
        if self.kind == "chat_not_found":
            return bad_request("chat not found")
        if self.kind == "server_error":
            return ApiError(502, "Bad Gateway")
        if self.kind == "retry_after":
            return too_many_requests(self.retry_after)
        if self.kind == "thread_not_found":
            return bad_request(THREAD_NOT_FOUND)
        return None


class FaultBook:
    """The active faults, consulted once per request in injection order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Activate ``fault``."""
        self._faults.append(fault)

    def clear(self) -> None:
        """Deactivate all faults."""
        self._faults.clear()

    def take(self, method: str, chat_id: int | str | None) -> list[Fault]:
        """Faults that hit this request, their ``times`` counted down.

        Every matching ``delay`` fault is returned, plus at most one failing fault (an error
        or an answer fault: the first injected).
        """
        hit: list[Fault] = []
        failing = False
        for fault in self._faults:
            if not fault.matches(method, chat_id):
                continue
            if fault.kind != "delay":
                if failing:
                    continue
                failing = True
            if fault.times is not None:
                fault.times -= 1
            hit.append(fault)
        self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        if hit:
            logger.debug("faults hit %s chat=%s: %s", method, chat_id, [f.kind for f in hit])
        return hit
