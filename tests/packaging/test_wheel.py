"""Install rapport as a user would: build the wheel, install it into a fresh virtual
environment and run ``rapport demo`` from an empty folder.

This proves the wheel carries everything the bot needs at run time — templates, FAQ and
triage lists (``scripts_i18n``), migrations, the emulator's spec — and that nothing is found
only because the source tree happens to be the working directory or on ``sys.path``.

Dependencies come from the package index (and pip's cache), pinned to the versions of the
current environment so the resolver has little to do. Without the index the test skips —
except under CI (the ``CI`` environment variable set), where it fails saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(r"^(\d+) bot messages to (\d+) customers in [\d.]+s\.$")
#: What pip prints when it cannot reach an index (as opposed to a requirement it cannot meet).
OFFLINE = re.compile(
    r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
    r"Network is unreachable|Name or service not known|ProxyError|ConnectTimeout"
)
#: Not part of the source distribution a user would build from.
UNSHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*", ".env"
)


def _clean_env(venv: Path) -> dict[str, str]:
    """The environment of a user's shell with only `venv` activated: no PYTHONPATH that could
    put the source tree on ``sys.path``, no rapport settings from the test run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TELEGRAM_BOT_TOKEN"}
        and not key.startswith("RAPPORT_")
    }
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _indexes() -> list[str]:
    """Where pip looks for packages here: its index, extra indexes and find-links."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout.splitlines()
    found: dict[str, list[str]] = {}
    for line in listed:
        key, _, value = line.partition("=")
        option = key.rsplit(".", 1)[-1]
        if option in {"index-url", "extra-index-url", "find-links"}:
            found.setdefault(option, []).extend(value.strip("'\"").split())
    return (
        (found.get("index-url") or ["https://pypi.org/simple/"])
        + found.get("extra-index-url", [])
        + found.get("find-links", [])
    )


def _offline(why: str) -> None:
    message = f"the package index is unreachable, so rapport cannot be installed: {why}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _require_an_index() -> None:
    tried = []
    for where in _indexes():
        if where.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(where, timeout=15):
                    return
            except OSError as exc:
                tried.append(f"{where}: {exc}")
        elif Path(where.removeprefix("file://")).exists():
            return
        else:
            tried.append(f"{where}: no such directory")
    _offline("; ".join(tried))


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        if OFFLINE.search(output):
            _offline(f"{' '.join(args[:4])}… said:\n{output[-3000:]}")
        hint = " (is the package index reachable?)" if "No matching distribution" in output else ""
        pytest.fail(f"{' '.join(args)} exited {done.returncode}{hint}:\n{output[-5000:]}")
    return output


def _constraints(path: Path) -> Path:
    """The current environment's versions (``pip freeze``, without rapport itself)."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    pins = [
        line
        for line in frozen
        if line
        and not line.startswith(("-e", "#"))
        and " @ " not in line
        and not line.lower().startswith("rapport==")
    ]
    path.write_text("\n".join(pins) + "\n", encoding="utf-8")
    return path


def test_the_wheel_installs_and_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    started = time.monotonic()
    _require_an_index()
    source, dist, venv = tmp_path / "source", tmp_path / "dist", tmp_path / "venv"
    empty = tmp_path / "empty"
    empty.mkdir()
    # A clean copy, as a fresh clone would be: no stale build/ leaking old files into the wheel.
    shutil.copytree(REPO, source, ignore=UNSHIPPED)
    env = _clean_env(venv)

    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), "."],
        cwd=source,
        env=env,
        timeout=180,
    )
    (wheel,) = dist.glob("rapport-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "scripts_i18n/en/messages/general.yaml" in names
    assert any(n.startswith("storage/migrations/versions/") for n in names)

    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env, timeout=120)
    python = venv / "bin" / "python"
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(_constraints(tmp_path / "constraints.txt")),
            str(wheel),
        ],
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    where = _run(
        [str(python), "-c", "import bot, scripts_i18n, storage; print(bot.__file__)"],
        cwd=empty,
        env=env,
        timeout=60,
    )
    assert Path(where.strip()).is_relative_to(venv), f"imported from {where.strip()}"

    output = _run([str(venv / "bin" / "rapport"), "demo"], cwd=empty, env=env, timeout=150)
    last = output.strip().splitlines()[-1]
    matched = LAST_LINE.match(last)
    assert matched, f"unexpected last line {last!r}; output ends:\n{output[-2000:]}"
    assert int(matched.group(1)) > 0 and int(matched.group(2)) > 0
    assert list(empty.iterdir()) == [], "the demo left files in the working directory"
    print(f"wheel built, installed and demo run in {time.monotonic() - started:.0f}s")
