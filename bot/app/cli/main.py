"""The ``rapport`` command line.

``rapport run`` serves real customers; ``rapport demo`` plays scripted customers against the
built-in Bot API emulator with no token and no network; ``rapport settings`` documents every
setting. Feature commands live in their own modules of this package and are added here.
Errors are reported in one clear line, never with a traceback or a secret.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated

import typer
from typer._click import Command, Context
from typer.core import TyperGroup

from bot.app.cli.common import FrameworkOption, fail, load_settings, setup_logging
from bot.app.settings import Settings

LAZY_GROUPS: dict[str, str] = {
    "report": "bot.app.cli.report",
    "customer": "bot.app.cli.customers",
    "import": "bot.app.cli.imports",
    "tiers": "bot.app.cli.tiers",
    "staff": "bot.app.cli.staff",
    "outbox": "bot.app.cli.outbox",
    "playbook": "bot.app.cli.playbook",
    "news": "bot.app.cli.news",
    "db": "bot.app.cli.db",
    "campaign": "bot.app.cli.campaign",
    "tasks": "bot.app.cli.tasks",
}
"""Command groups: each module defines a ``typer.Typer`` named ``app``."""
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "triage": ("bot.app.cli.triage", "triage"),
    "faq": ("bot.app.cli.faq", "faq"),
    "backup": ("bot.app.cli.db", "backup"),
}
"""Single commands: (module, function)."""


class LazyCommands(TyperGroup):
    """Imports a command's module only when that command runs (or help lists it), so
    ``rapport triage`` does not pay for the import, tier and customer modules' imports."""

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_GROUPS, *LAZY_COMMANDS})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in LAZY_GROUPS:
            group = typer.main.get_group(importlib.import_module(LAZY_GROUPS[cmd_name]).app)
            group.name = cmd_name
            return group
        if cmd_name in LAZY_COMMANDS:
            module, function = LAZY_COMMANDS[cmd_name]
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
            single.command(cmd_name)(getattr(importlib.import_module(module), function))
            command = typer.main.get_command(single)
            command.name = cmd_name
            return command
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyCommands,
    name="rapport",
    help="rapport — customer care and engagement for Telegram.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def run(
    framework: FrameworkOption = None,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="Receive updates by webhook (needs --public-url or RAPPORT_WEBHOOK_URL) "
            "instead of long polling.",
        ),
    ] = False,
    listen: Annotated[
        str | None,
        typer.Option(help="HOST:PORT for the webhook receiver (RAPPORT_WEBHOOK_LISTEN)."),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="The HTTPS URL Telegram posts to (RAPPORT_WEBHOOK_URL)."),
    ] = None,
) -> None:
    """Serve customers on Telegram by long polling, or by webhook with --webhook (needs
    TELEGRAM_BOT_TOKEN)."""
    from bot.app.runner import run_forever

    if not webhook and (listen or public_url):
        fail("--listen and --public-url go with --webhook")
    settings = load_settings(framework=framework, webhook_listen=listen, webhook_url=public_url)
    if settings.bot_token is None:
        fail(
            "no bot token. Set TELEGRAM_BOT_TOKEN (from @BotFather), "
            "or try `rapport demo`, which needs none."
        )
    if webhook and settings.webhook_url is None:
        fail("--webhook needs --public-url https://… (or RAPPORT_WEBHOOK_URL)")
    from bot.app.playbook_file import PlaybookError
    from bot.app.policies import read_playbook

    try:  # before anything is opened; the bot reads the same (cached) playbook
        read_playbook(settings)
    except PlaybookError as exc:
        fail(f"the playbook has problems (run `rapport playbook check`):\n{exc}")
    from bot.app.events_server import EventsConfigError, events_secret

    try:
        events_secret(settings)
    except EventsConfigError as exc:
        fail(str(exc))
    setup_logging(settings)
    from bot.adapters.connection import TokenRefused
    from bot.adapters.webhook import WebhookUnavailable
    from storage.key_check import EncryptionKeyMismatch

    try:
        asyncio.run(run_forever(settings))
    except (EncryptionKeyMismatch, EventsConfigError, WebhookUnavailable) as exc:
        fail(str(exc))
    except TokenRefused:
        fail(
            "Telegram refused the bot token: check TELEGRAM_BOT_TOKEN (from @BotFather) and "
            "RAPPORT_API_BASE"
        )


@app.command()
def demo(
    framework: FrameworkOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the bot's log.")] = False,
) -> None:
    """Play scripted customers (English, 简体中文, 繁體中文) against the built-in emulator."""
    from bot.app.demo import run_demo

    settings = load_settings(framework=framework)
    setup_logging(settings, "INFO" if verbose else "WARNING")
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
