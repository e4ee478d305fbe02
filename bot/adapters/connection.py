"""How an adapter reaches the Bot API: handed to it by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp.web import RouteDef


@dataclass(frozen=True, slots=True)
class PollingPolicy:
    """The numbers of our long-poll loop (:mod:`bot.adapters.polling`), from the settings."""

    retry_initial_seconds: float = 0.5
    """First wait after a failed fetch or a failed accept; doubles on each further failure."""
    retry_max_seconds: float = 30.0
    """The longest wait between two attempts."""
    stop_grace_seconds: float = 10.0
    """How long a stop waits for updates in flight before leaving them to the next start."""
    max_in_flight: int = 256
    """Updates fed and not finished before the loop waits to fetch more (also the page size
    of the start-up re-drive)."""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where Telegram posts (`public_url`, the URL registered with ``setWebhook``) and where
    this process listens (`host`, `port`; behind a reverse proxy that forwards the URL's path
    unchanged). `secret_token` is left out of ``repr``."""

    public_url: str
    host: str
    port: int
    secret_token: str = field(repr=False)
    accept_timeout_seconds: float = 10.0
    max_connections: int = 40
    routes: tuple[RouteDef, ...] = ()
    """More endpoints on the same port (the composition root's ``/healthz`` and
    ``/metrics``)."""

    @property
    def path(self) -> str:
        """The path served: the public URL's path (``/`` when it has none)."""
        return urlsplit(self.public_url).path or "/"


@dataclass(frozen=True, slots=True)
class Connection:
    """The token (never logged: it is left out of ``repr``), the Bot API server's base URL
    (Telegram's, or the local emulator's), the long-polling timeout in seconds and the
    numbers of the poll loop. With `paid_broadcast` the messenger sends new messages and copies
    with ``allow_paid_broadcast`` (Telegram's paid limit of up to 1000 a second; the core's
    pacing is told the matching rate by the composition root)."""

    token: str = field(repr=False)
    api_base: str
    polling_timeout: int = 30
    polling: PollingPolicy = field(default_factory=PollingPolicy)
    paid_broadcast: bool = False
    webhook: WebhookConfig | None = None
    """Receive updates by webhook (:mod:`bot.adapters.webhook`) instead of long polling."""
    request_timeout_seconds: float = 10.0
    """How long any request but ``getUpdates`` may take on either framework (their own
    defaults differ: 5 s read timeout in python-telegram-bot, 60 s in aiogram). A send that
    times out may still have been delivered (:class:`~bot.core.errors.UncertainDelivery`)."""
    connections: int = 16
    """Connections to the Bot API each framework's client keeps open at once (sends in
    flight beyond this wait for one); the composition root sizes it for the bot-wide rate."""


class TelegramUnreachable(Exception):
    """The Bot API server could not be reached at start (network down, DNS, timeouts, 5xx):
    worth trying again later. The message is a short reason, never the token."""


class TokenRefused(Exception):
    """The Bot API server refused the bot token (401 or 404 on ``getMe``): no retry helps."""
