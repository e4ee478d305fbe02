"""Reading import files: streamed rows of a CSV or JSON Lines file, validated and batched.

Nothing here touches the database. :func:`read_rows` yields each row with its line number (or
the reason it cannot be read); :func:`batches` parses them with the core's validators
(:mod:`bot.core.importing`), records every bad row with its line and reason in the
:class:`ImportReport`, and hands the good ones on in batches, which
:mod:`storage.customers_import` writes one transaction each.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.importing import RowError, check_header

__all__ = ["FileFormatError", "ImportReport", "Progress", "batches", "count_rows", "read_rows"]


class FileFormatError(ValueError):
    """The file as a whole cannot be read (unknown extension, bad header)."""


@dataclass
class ImportReport:
    """What an import did. `rejected` holds (line, reason) for every bad row."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


Progress = Callable[[int], None]


def count_rows(path: Path) -> int:
    """Data lines in the file (for a progress bar): newlines, minus the CSV header."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(0, lines - (0 if path.suffix.lower() == ".jsonl" else 1))


def read_rows(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    """(line number, row or the reason it cannot be read), streamed. CSV (UTF-8, optional BOM)
    by default; JSON Lines for ``.jsonl``. Raises :class:`FileFormatError` for a bad header."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path, known, required)
    elif suffix in (".csv", ".txt", ""):
        yield from _read_csv(path, known, required)
    else:
        raise FileFormatError(f"{path}: unknown file type {suffix!r} (use .csv or .jsonl)")


def _read_csv(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        try:
            check_header(header, known, required)
        except RowError as exc:
            raise FileFormatError(f"{path}:1: {exc}") from None
        assert header is not None
        names = [c.strip() for c in header]
        width = len(names)
        line = reader.line_num
        for fields in reader:  # what csv.DictReader does, without its per-row overhead
            if not fields:
                line = reader.line_num  # a blank line
                continue
            start, line = line + 1, reader.line_num
            if len(fields) == width:
                yield start, dict(zip(names, fields, strict=True))
            elif len(fields) < width:
                yield (
                    start,
                    dict(zip(names, [*fields, *([None] * (width - len(fields)))], strict=True)),
                )
            else:
                yield start, RowError("more fields than the header has")


def _read_jsonl(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, RowError(f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                yield number, RowError("not a JSON object")
                continue
            unknown = [k for k in row if k not in known]
            missing = [k for k in required if k not in row]
            if unknown or missing:
                yield (
                    number,
                    RowError(
                        f"unknown field(s) {', '.join(unknown)}"
                        if unknown
                        else f"missing field(s) {', '.join(missing)}"
                    ),
                )
                continue
            yield number, row


def batches(
    rows: Iterable[tuple[int, Mapping[str, Any] | RowError]],
    parse: Callable[[Mapping[str, Any]], Any],
    size: int,
    report: ImportReport,
) -> Iterator[list[tuple[int, Any]]]:
    """Lists of up to `size` (line, parsed row); every unreadable or invalid row is counted and
    recorded in ``report.rejected`` instead."""
    batch: list[tuple[int, Any]] = []
    for line, row in rows:
        report.rows += 1
        if isinstance(row, RowError):
            report.rejected.append((line, str(row)))
            continue
        try:
            batch.append((line, parse(row)))
        except RowError as exc:
            report.rejected.append((line, str(exc)))
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
