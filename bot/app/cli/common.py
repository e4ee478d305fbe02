"""What every ``rapport`` subcommand shares: loading settings, logging, failing clearly."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from bot.app.logs import configure_logging
from bot.app.settings import Framework, Settings

FrameworkOption = Annotated[
    Framework | None,
    typer.Option("--framework", "-f", help="aiogram or ptb (default: RAPPORT_FRAMEWORK)."),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Ends the command with one clear line on stderr, never a traceback or a secret."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with command-line overrides (None = unset)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            lines.append(f"setting {where}: {error['msg']}")
        fail("; ".join(lines))


def setup_logging(settings: Settings, level: str | None = None) -> None:
    secrets = [
        s.get_secret_value()
        for s in (settings.bot_token, settings.events_secret, settings.webhook_secret)
        if s
    ]
    if settings.bot_token is not None and settings.webhook_url is not None:
        from bot.adapters.webhook import derived_secret

        secrets.append(derived_secret(settings.bot_token.get_secret_value()))
    configure_logging(level or settings.log_level, secrets=secrets)
