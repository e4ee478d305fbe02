"""The ``rapport`` command line.

``rapport run`` serves real customers; ``rapport demo`` plays scripted customers against the
built-in Bot API emulator with no token and no network; ``rapport settings`` documents every
setting. Errors are reported in one clear line, never with a traceback or a secret.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError

from bot.config import Framework, Settings
from bot.logs import configure_logging

app = typer.Typer(
    name="rapport",
    help="rapport — customer care and engagement for Telegram.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            typer.echo(f"error: setting {where}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def _logging(settings: Settings, level: str | None = None) -> None:
    secret = settings.bot_token.get_secret_value() if settings.bot_token else ""
    configure_logging(level or settings.log_level, secrets=[secret])


FrameworkOption = Annotated[
    Framework | None,
    typer.Option("--framework", "-f", help="aiogram or ptb (default: RAPPORT_FRAMEWORK)."),
]


@app.command()
def run(framework: FrameworkOption = None) -> None:
    """Serve customers on Telegram by long polling (needs TELEGRAM_BOT_TOKEN)."""
    from bot.runner import run_forever

    settings = _settings(framework=framework)
    if settings.bot_token is None:
        typer.echo(
            "error: no bot token. Set TELEGRAM_BOT_TOKEN (from @BotFather), "
            "or try `rapport demo`, which needs none.",
            err=True,
        )
        raise typer.Exit(2)
    _logging(settings)
    asyncio.run(run_forever(settings))


@app.command()
def demo(
    framework: FrameworkOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the bot's log.")] = False,
) -> None:
    """Play scripted customers (English, 简体中文, 繁體中文) against the built-in emulator."""
    from sandbox.demo import run_demo

    settings = _settings(framework=framework)
    _logging(settings, "INFO" if verbose else "WARNING")
    ok = asyncio.run(run_demo(settings.framework, echo=typer.echo))
    raise typer.Exit(0 if ok else 1)


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="Print a Markdown table for the README.")] = False,
) -> None:
    """List every setting with its environment variable, default and meaning."""
    rows = []
    for name, field in Settings.model_fields.items():
        env = f"RAPPORT_{name.upper()}"
        default = field.default
        shown = "" if default is None else str(default)
        rows.append((env, shown, field.description or ""))
    if markdown:
        typer.echo("| variable | default | meaning |\n|---|---|---|")
        for env, default, text in rows:
            typer.echo(f"| `{env}` | `{default}` | {text} |")
    else:
        for env, default, text in rows:
            typer.echo(f"{env:44} {default:32} {text}")


def main() -> None:  # pragma: no cover - console entry point
    app()
