"""``rapport triage``: how the complaint triage reads a message (SPEC §5).

    rapport triage "the kettle arrived broken, I want a refund"     # a short table
    rapport triage --json "水壺壞了，要求退貨"                         # one JSON object
    rapport triage --json --file messages.txt                        # one object per line

With ``--file`` every line is one message and every non-blank line gives one JSON object, in
order; blank lines give nothing (so output lines match the file's non-blank lines). The lexicons
are loaded once. A file that cannot be read, or a line that is not UTF-8, ends the command with
one error line naming the file (and the line) and exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.settings import LOCALES
from bot.app.triage_data import DEFAULT_ROOT, TriageFileError, load_lexicons
from bot.core.triage import Triage, TriageDecision


def _build() -> Triage:
    settings = load_settings()
    try:
        lexicons = load_lexicons(DEFAULT_ROOT, LOCALES)
    except TriageFileError as exc:
        fail(str(exc))
    return Triage(lexicons, complaint_negativity=settings.triage_complaint_negativity)


def _json(decision: TriageDecision) -> str:
    return json.dumps(decision.to_json(), ensure_ascii=False)


def _table(decision: TriageDecision) -> str:
    severity = decision.severity.value if decision.severity else "-"
    rows = [
        ("kind", decision.kind.value),
        ("severity", severity),
        ("category", decision.category or "-"),
        ("summary", decision.summary or "-"),
        ("negativity", f"{decision.negativity:.2f}"),
        ("locale", decision.locale),
    ]
    lines = [f"{name:<11} {value}" for name, value in rows]
    for signal in decision.signals:
        detail = f"  ({signal.detail})" if signal.detail else ""
        lines.append(f"{'signal':<11} {signal.kind}: {signal.term}{detail}")
    return "\n".join(lines)


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    lines = data.split(b"\n")
    texts: list[str] = []
    for number, raw in enumerate(lines, start=1):
        try:
            texts.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as exc:
            fail(f"{path}:{number}: not valid UTF-8 (byte {exc.start + 1} of the line)")
    if texts and texts[0].startswith("\ufeff"):
        texts[0] = texts[0][1:]
    return texts


def triage(
    text: Annotated[str | None, typer.Argument(help="The message to classify.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per message).")
    ] = False,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Classify every line of this UTF-8 file (blank lines are skipped)."
        ),
    ] = None,
) -> None:
    """Show how triage reads a message: enquiry or complaint, severity, and why."""
    if (text is None) == (file is None):
        fail("give either a message or --file PATH (one message per line)")
    engine = _build()
    if file is None:
        assert text is not None
        decision = engine.classify(text)
        typer.echo(_json(decision) if as_json else _table(decision))
        return
    lines = _read_lines(file)
    out = sys.stdout
    if as_json:
        chunk: list[str] = []
        for line in lines:
            if line.strip():
                chunk.append(_json(engine.classify(line)))
            if len(chunk) >= 1000:
                typer.echo("\n".join(chunk), file=out)
                chunk = []
        if chunk:
            typer.echo("\n".join(chunk), file=out)
        return
    for number, line in enumerate(lines, start=1):
        if line.strip():
            d = engine.classify(line)
            severity = d.severity.value if d.severity else "-"
            typer.echo(
                f"{number:>6}  {d.kind.value:<9} {severity:<8} {d.category or '-':<13} "
                f"{d.negativity:.2f}  {d.locale}"
            )
