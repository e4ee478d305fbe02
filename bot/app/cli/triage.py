"""``rapport triage``: how the complaint triage reads a message (SPEC §5).

    rapport triage "the kettle arrived broken, I want a refund"     # a short table
    rapport triage --json "水壺壞了，要求退貨"                         # one JSON object
    rapport triage --json --file messages.txt                        # one object per line

With ``--file`` every line is one message and every non-blank line gives one JSON object, in
order; blank lines give nothing (so output lines match the file's non-blank lines). The lexicons
are loaded once. A file that cannot be read, or a line that is not UTF-8, ends the command with
one error line naming the file (and the line) and exit code 2.

The file is streamed a line at a time, so memory does not grow with it. A line longer than
:data:`MAX_LINE_CHARS` (Telegram's own message limit) is cut there and its object says so
(``"cut": {"kept_chars": …, "line_bytes": …}``); the rest of the line is skipped unread. At most
:data:`MAX_SIGNALS` distinct signals are listed per message (``"signals_omitted"`` counts the
rest, repeats included), each cut to :data:`MAX_SIGNAL_CHARS`, so the output of a hostile line
stays small.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.triage_data import DEFAULT_ROOT, TriageFileError
from bot.app.understanding import ModelFileError, build_triage
from bot.core.triage import Triage, TriageDecision

#: The longest message classified, in characters (a Telegram message holds at most 4,096).
MAX_LINE_CHARS = 4096
#: UTF-8 needs at most four bytes a character.
_MAX_LINE_BYTES = 4 * MAX_LINE_CHARS
#: Distinct signals listed per message.
MAX_SIGNALS = 20
#: The longest term or detail of a signal in the output, in characters.
MAX_SIGNAL_CHARS = 200


def _build() -> Triage:
    settings = load_settings()
    try:
        return build_triage(settings, DEFAULT_ROOT)
    except (TriageFileError, ModelFileError) as exc:
        fail(str(exc))


def _cut_text(text: str) -> str:
    return text if len(text) <= MAX_SIGNAL_CHARS else text[:MAX_SIGNAL_CHARS] + "…"


def _signals(decision: TriageDecision) -> tuple[list[dict[str, str]], int]:
    """The distinct signals to list (at most :data:`MAX_SIGNALS`, texts cut) and how many of
    all the signals were left out."""
    listed: list[dict[str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for signal in decision.signals:
        item = {k: _cut_text(v) for k, v in signal.to_json().items()}
        key = (item["kind"], item["term"], item["detail"])
        if key not in seen and len(listed) < MAX_SIGNALS:
            seen.add(key)
            listed.append(item)
    return listed, len(decision.signals) - len(listed)


def _json(decision: TriageDecision, cut: dict[str, int] | None = None) -> str:
    data = decision.to_json()
    data["signals"], omitted = _signals(decision)
    if omitted:
        data["signals_omitted"] = omitted
    if cut is not None:
        data["cut"] = cut
    return json.dumps(data, ensure_ascii=False)


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
    listed, omitted = _signals(decision)
    for signal in listed:
        detail = f"  ({signal['detail']})" if signal["detail"] else ""
        lines.append(f"{'signal':<11} {signal['kind']}: {signal['term']}{detail}")
    if omitted:
        lines.append(f"{'signal':<11} … and {omitted} more")
    return "\n".join(lines)


def _read_lines(path: Path) -> Iterator[tuple[int, str, dict[str, int] | None]]:
    """(line number, text, how it was cut or None) of every line, streamed."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    with handle:
        number = 0
        while raw := _readline(handle, path, number + 1):
            number += 1
            ended = raw.endswith(b"\n")
            line_bytes = len(raw)
            if not ended and len(raw) == _MAX_LINE_BYTES:
                while (rest := _readline(handle, path, number)) and not rest.endswith(b"\n"):
                    line_bytes += len(rest)
                line_bytes += len(rest)
            text = _decode(raw, path, number, cut=line_bytes > len(raw))
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]
            text = text.rstrip("\n").rstrip("\r")
            if len(text) > MAX_LINE_CHARS or line_bytes > len(raw):
                text = text[:MAX_LINE_CHARS]
                yield number, text, {"kept_chars": len(text), "line_bytes": line_bytes}
            else:
                yield number, text, None


def _readline(handle: BinaryIO, path: Path, number: int) -> bytes:
    try:
        return handle.readline(_MAX_LINE_BYTES)
    except OSError as exc:
        fail(f"{path}:{number}: cannot read: {exc.strerror or exc}")


def _decode(raw: bytes, path: Path, number: int, *, cut: bool) -> str:
    """The line as text; a character split by the cut is dropped, any other bad byte ends
    the command."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.reason == "unexpected end of data":
            return _decode(raw[: exc.start], path, number, cut=False)
        fail(f"{path}:{number}: not valid UTF-8 (byte {exc.start + 1} of the line)")


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
        for _number, line, cut in lines:
            if line.strip():
                chunk.append(_json(engine.classify(line), cut))
            if len(chunk) >= 1000:
                typer.echo("\n".join(chunk), file=out)
                chunk = []
        if chunk:
            typer.echo("\n".join(chunk), file=out)
        return
    for number, line, _cut in lines:
        if line.strip():
            d = engine.classify(line)
            severity = d.severity.value if d.severity else "-"
            typer.echo(
                f"{number:>6}  {d.kind.value:<9} {severity:<8} {d.category or '-':<13} "
                f"{d.negativity:.2f}  {d.locale}"
            )
