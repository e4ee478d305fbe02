"""Logging set-up: one handler, with secrets redacted from every record.

Library loggers at DEBUG print request URLs, and a Bot API URL carries the token
(``/bot<token>/sendMessage``). Rather than trust every library, the handler's filter replaces
any configured secret with ``<redacted>`` in the final message, whatever logged it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TextIO

REDACTED = "<redacted>"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "aiohttp.access",
    "alembic.runtime.plugins",
    "apscheduler.executors.default",
)


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's rendered message (and traceback) with a marker."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


def configure_logging(
    level: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Sends all logging to `stream` (stderr by default) at `level`, secrets redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if root.level > logging.DEBUG:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    return handler
