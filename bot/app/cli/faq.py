"""``rapport faq``: how the FAQ matcher reads a question (SPEC §7; issue #12).

    rapport faq --json "how long do refunds take"               # one JSON object
    rapport faq --json --locale zh-Hant "退款多久會入帳"
    rapport faq --json --file questions.txt                     # one object per question

Each object is ``{"outcome": "answer"|"confirm"|"none", "entry_id", "score", "locale",
"matched_locale"}``: ``locale`` is the question's locale (``--locale``, the line's own
``locale<TAB>`` prefix, or detected from the text), ``matched_locale`` the locale of the
phrasing that matched (null when none did).

With ``--file`` every non-blank line is one question, optionally written ``locale<TAB>question``
(locale one of en, zh-Hans, zh-Hant); the file is read and answered line by line (streamed), so
output line *k* belongs to the file's *k*-th non-blank line. A file that cannot be read, or a
line that is not UTF-8, ends the command with one ``error:`` line and exit code 2. Without
``--json`` a short human-readable line is printed per question.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.faq_data import FaqFileError
from bot.app.settings import LOCALES
from bot.app.triage_data import DEFAULT_ROOT
from bot.app.understanding import ModelFileError, build_faq_index
from bot.core.faq import FaqIndex
from bot.core.text import detect_locale


def _build() -> FaqIndex:
    settings = load_settings()
    try:
        return build_faq_index(settings, DEFAULT_ROOT)
    except (FaqFileError, ModelFileError) as exc:
        fail(str(exc))


def _split(line: str, locale: str | None) -> tuple[str, str]:
    """The question's locale and text: a ``locale<TAB>`` prefix, else ``locale``, else the
    locale detected from the text."""
    head, tab, rest = line.partition("\t")
    if tab and head.strip() in LOCALES:
        return head.strip(), rest.strip()
    text = line.strip()
    return locale or detect_locale(text), text


def _result(index: FaqIndex, text: str, locale: str) -> dict[str, object]:
    found = index.match(text, locale)
    return {
        "outcome": found.outcome,
        "entry_id": found.entry_id,
        "score": found.score,
        "locale": locale,
        "matched_locale": found.locale,
    }


def _render(result: dict[str, object], as_json: bool) -> str:
    if as_json:
        return json.dumps(result, ensure_ascii=False)
    return (
        f"{result['outcome']:<8} {result['entry_id'] or '-':<24} {result['score']:>5}  "
        f"{result['locale']}"
    )


def _lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded one at a time (streamed); stops the command on a bad one."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                fail(f"{path}:{number}: not valid UTF-8 (byte {exc.start + 1} of the line)")
            yield line[1:] if number == 1 and line.startswith("\ufeff") else line


def faq(
    text: Annotated[str | None, typer.Argument(help="The question to match.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per question).")
    ] = False,
    locale: Annotated[
        str | None,
        typer.Option("--locale", help="en, zh-Hans or zh-Hant (default: detected per question)."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Match every non-blank line of this UTF-8 file (`locale<TAB>question` allowed).",
        ),
    ] = None,
) -> None:
    """Show how the FAQ matcher reads a question: answer, confirm first, or no match."""
    if (text is None) == (file is None):
        fail("give either a question or --file PATH (one question per line)")
    if locale is not None and locale not in LOCALES:
        fail(f"unknown locale {locale!r}: use one of {', '.join(LOCALES)}")
    index = _build()
    if file is None:
        assert text is not None
        question_locale, question = _split(text, locale)
        typer.echo(_render(_result(index, question, question_locale), as_json))
        return
    for line in _lines(file):
        if line.strip():
            question_locale, question = _split(line, locale)
            typer.echo(_render(_result(index, question, question_locale), as_json))
