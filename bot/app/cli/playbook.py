"""``rapport playbook check [FILE]`` and ``rapport playbook preview`` (SPEC §8).

``check`` exits 0 when the file is valid, 1 with one ``file:line: message`` line per problem
otherwise (2, as every command, when it cannot run at all). Without FILE it checks the
deployment's playbook (``RAPPORT_PLAYBOOK_FILE``, or the shipped default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.app.cli.common import load_settings
from bot.app.playbook_file import DEFAULT_PLAYBOOK, PlaybookError, load_playbook, template_keys
from bot.app.settings import LOCALES, Settings
from bot.core.engagement.playbook import Playbook
from scripts_i18n import ROOT

app = typer.Typer(help="The engagement playbook: check it, preview it.", no_args_is_help=True)

#: Exit status of `check` for a file with problems.
INVALID = 1


def playbook_path(settings: Settings, given: Path | None = None) -> Path:
    if given is not None:
        return given
    return Path(settings.playbook_file) if settings.playbook_file else DEFAULT_PLAYBOOK


def read_playbook(path: Path) -> Playbook:
    """The playbook at `path`, checked against the shipped templates of every locale."""
    return load_playbook(path, template_keys(ROOT, LOCALES), LOCALES)


@app.command("check")
def check(
    file: Annotated[
        Path | None,
        typer.Argument(help="The playbook to check (default: the deployment's playbook)."),
    ] = None,
) -> None:
    """Validate a playbook: exit 0 if valid, 1 listing each problem as file:line: message."""
    path = playbook_path(load_settings(), file)
    try:
        playbook = read_playbook(path)
    except PlaybookError as exc:
        for issue in exc.issues:
            typer.echo(str(issue))
        raise typer.Exit(INVALID) from None
    typer.echo(f"{path}: {len(playbook.rules)} rules, valid")
