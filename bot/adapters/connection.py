"""How an adapter reaches the Bot API: handed to it by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Connection:
    """The token (never logged: it is left out of ``repr``), the Bot API server's base URL
    (Telegram's, or the local emulator's) and the long-polling timeout in seconds."""

    token: str = field(repr=False)
    api_base: str
    polling_timeout: int = 30
