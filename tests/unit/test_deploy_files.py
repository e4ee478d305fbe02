"""The deployment examples in deploy/ (issue #13) cannot run in CI (no Docker, no systemd),
so this test reads them and checks that what they run exists: every command line is a real
`rapport` command with real options, every variable they set is a real setting, the
Dockerfile's entry point is the console script the package installs, and the compose file
has two workers, PostgreSQL, a one-shot migration and a proxy."""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer
import yaml
from typer._click import Context

from bot.app.cli import app
from bot.app.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent


def parses_as_rapport(args: list[str]) -> None:
    """Resolves `args` down the command tree and parses the last command's options, without
    running it (an unknown command or option raises)."""
    command = typer.main.get_command(app)
    context = Context(command, info_name="rapport")
    rest = list(args)
    while hasattr(command, "get_command") and rest and not rest[0].startswith("-"):
        sub = command.get_command(context, rest[0])
        assert sub is not None, f"no command {rest[0]!r} in {args}"
        command, name, rest = sub, rest[0], rest[1:]
        context = Context(command, info_name=name, parent=context)
    assert not hasattr(command, "get_command"), f"{args} names a group, not a command"
    command.make_context(context.info_name, rest, parent=context.parent)


def known_variables() -> set[str]:
    names = {f"RAPPORT_{name.upper()}" for name in Settings.model_fields}
    return names | {"TELEGRAM_BOT_TOKEN"}


def test_compose_runs_two_workers_on_postgres_after_a_migration() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "migrate", "bot-1", "bot-2", "proxy"} <= set(services)
    for name in ("migrate", "bot-1", "bot-2"):
        service = services[name]
        parses_as_rapport(service["command"])
        url = service["environment"]["RAPPORT_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
        assert (DEPLOY / service["env_file"]).with_suffix(".env.example").exists()
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for worker in ("bot-1", "bot-2"):
        assert services[worker]["command"][:2] == ["run", "--webhook"]
        assert services[worker]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "bot-1:8081 bot-2:8081" in caddyfile and "handle /telegram" in caddyfile


def test_dockerfile_entry_point_is_the_installed_console_script() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    entry = re.search(r'^ENTRYPOINT \["(\w+)"\]', dockerfile, re.MULTILINE)
    command = re.search(r"^CMD (\[.*\])", dockerfile, re.MULTILINE)
    assert entry is not None and entry.group(1) in scripts
    assert command is not None
    parses_as_rapport(yaml.safe_load(command.group(1)))
    for copied in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        for path in copied.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"


def test_systemd_unit_runs_real_commands() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((DEPLOY / "rapport.service").read_text(encoding="utf-8"))
    service = unit["Service"]
    for key in ("ExecStartPre", "ExecStart"):
        program, *args = shlex.split(service[key])
        assert program.endswith("/rapport")
        parses_as_rapport(args)
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > Settings().stop_grace_seconds


def test_example_environment_names_only_real_settings() -> None:
    lines = (DEPLOY / "rapport.env.example").read_text(encoding="utf-8").splitlines()
    names = {line.split("=", 1)[0].lstrip("# ").strip() for line in lines if "=" in line}
    names = {n for n in names if re.fullmatch(r"[A-Z_]+", n)}
    assert names and names <= known_variables(), names - known_variables()
    texts = "\n".join(p.read_text(encoding="utf-8") for p in DEPLOY.iterdir() if p.is_file())
    used = set(re.findall(r"\b(RAPPORT_[A-Z_]+)\b", texts)) - {"RAPPORT_DOMAIN"}
    assert used <= known_variables(), used - known_variables()


@pytest.mark.parametrize("args", [["run", "--webhok"], ["db", "upgrad"]])
def test_the_parser_check_itself_catches_a_typo(args: list[str]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - click's usage errors differ by kind
        parses_as_rapport(args)
