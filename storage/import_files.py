"""Reading import files: streamed rows of a CSV or JSON Lines file, each with its line number.

Nothing here touches the database. :func:`read_rows` yields each row with the line it starts
on, or the reason that row cannot be read (a :class:`~bot.core.importing.RowError`); it raises
:class:`FileFormatError` when the file as a whole cannot be read, naming the line:

* bytes that are not UTF-8 (Latin-1, GBK, UTF-16, random bytes) — the file is in another
  encoding, and guessing it would store garbled names;
* a bad header, or a CSV record whose quoting breaks across lines (an unclosed quote that runs
  on over many lines, a field over the cap inside such a record);
* a CSV line longer than :data:`MAX_LINE_BYTES` (no CSV record of the known columns is that
  long; what follows cannot be trusted to start a record).

The file is read through a binary handle one physical line at a time, and no line is held
beyond :data:`MAX_LINE_BYTES`, so a hostile file costs bounded memory. A CSV field longer than
:data:`~bot.core.importing.MAX_FIELD_CHARS` (csv's field limit, set to that cap while reading)
or a CSV error confined to one physical line rejects just that row; a JSON Lines line that is
too long, not JSON, too deeply nested or not an object rejects just that line.

:func:`batches` parses rows with the core's validators and hands the good ones on in batches;
the validation pass over a whole file is :mod:`storage.import_check`.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from bot.core.importing import MAX_FIELD_CHARS, RowError, check_header

__all__ = [
    "MAX_LINE_BYTES",
    "FileFormatError",
    "ImportReport",
    "Progress",
    "batches",
    "count_rows",
    "read_rows",
]

#: The longest physical line read, in bytes: room for every known column at
#: :data:`~bot.core.importing.MAX_FIELD_CHARS` even with CSV quote doubling or JSON escapes.
MAX_LINE_BYTES = 8 * 1024 * 1024


class FileFormatError(ValueError):
    """The file as a whole cannot be read (unknown extension, encoding, bad header, broken
    structure); the message names the file and, where there is one, the line."""


@dataclass
class ImportReport:
    """What an import did. `rows` counts the data rows read; `created`, `updated` and
    `unchanged` the rows committed (in transactions that completed); `rejected` holds
    (line, reason) for every row that was not."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    coupons: Counter[str] = field(default_factory=Counter)
    consent: Counter[str] = field(default_factory=Counter)
    """Customer rows that changed the marketing consent (``given``, ``withdrawn``), and the
    "yes" rows that left a customer's own opt-out from the chat standing (``opt_out_kept``)."""
    """Orders with a coupon code, by what the code came to (:class:`bot.core.coupons.Redemption`:
    ``redeemed``, ``expired``, ``other_customer`` …); orders without a code are not counted."""

    @property
    def committed(self) -> int:
        """Rows written (or confirmed unchanged) in committed transactions."""
        return self.created + self.updated + self.unchanged

    def add(self, other: ImportReport) -> None:
        """Adds the counts of `other` (one committed batch) to these."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.customers_created += other.customers_created
        self.coupons.update(other.coupons)
        self.consent.update(other.consent)


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
    by default; JSON Lines for ``.jsonl``. Raises :class:`FileFormatError` (see the module
    docstring) — possibly after some rows were yielded, so read the whole file before
    writing any of it."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path, known, required)
    elif suffix in (".csv", ".txt", ""):
        yield from _read_csv(path, known, required)
    else:
        raise FileFormatError(f"{path}: unknown file type {suffix!r} (use .csv or .jsonl)")


# --------------------------------------------------------------------------------------------
# Physical lines
# --------------------------------------------------------------------------------------------


def _lines(path: Path, *, long_lines: bool) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of every physical line, decoded as UTF-8 (a BOM on line 1 dropped).
    A line over :data:`MAX_LINE_BYTES` is skipped to its end and given as None when
    `long_lines`, else it raises :class:`FileFormatError`."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        number = 0
        while raw := _readline(handle, path, number + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := _readline(handle, path, number)) and not rest.endswith(b"\n"):
                    pass
                if not long_lines:
                    raise FileFormatError(
                        f"{path}:{number}: the line is longer than {MAX_LINE_BYTES} bytes"
                    )
                yield number, None
                continue
            yield number, _decode(raw, path, number)


def _readline(handle: BinaryIO, path: Path, number: int) -> bytes:
    try:
        return handle.readline(MAX_LINE_BYTES + 1)
    except OSError as exc:
        raise FileFormatError(f"{path}:{number}: cannot read: {exc.strerror or exc}") from None


def _decode(raw: bytes, path: Path, number: int) -> str:
    if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileFormatError(f"{path}:1: the file is UTF-16; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"{path}:{number}: not UTF-8 text (byte {exc.start + 1} of the line is "
            f"0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None
    return text[1:] if number == 1 and text.startswith("\ufeff") else text


def _names(items: Iterable[str], limit: int = 5) -> str:
    """Field names for a message: at most `limit`, each cut to 40 characters."""
    listed = [repr(n) if len(n) <= 40 else repr(n[:40]) + "…" for n in items]
    more = f" and {len(listed) - limit} more" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

_CSV_REASONS = {
    "field larger than field limit": f"a field is longer than {MAX_FIELD_CHARS} characters",
    "new-line character seen in unquoted field": "a carriage return inside an unquoted field",
}


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    for start, reason in _CSV_REASONS.items():
        if text.startswith(start):
            return reason
    return f"not readable as CSV ({text})"


def _read_csv(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    previous_limit = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        reader = csv.reader(text for _, text in _lines(path, long_lines=False) if text is not None)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise FileFormatError(f"{path}:1: the header is {_csv_reason(exc)}") from None
        if header and any("\x00" in name for name in header):
            raise FileFormatError(
                f"{path}:1: the header contains NUL bytes; is the file UTF-16? Save it as UTF-8"
            )
        try:
            check_header(header, known, required)
        except RowError as exc:
            raise FileFormatError(f"{path}:1: {exc}") from None
        assert header is not None
        names = [c.strip() for c in header]
        yield from _csv_records(reader, names, path)
    finally:
        csv.field_size_limit(previous_limit)


def _csv_records(
    reader: Any, names: list[str], path: Path
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    """What csv.DictReader does, without its per-row overhead, and with line numbers and
    errors: a csv error within one physical line rejects that row (csv starts afresh on the
    next line); one in a record spanning lines means the quoting is broken from there on."""
    width = len(names)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num <= start:
                yield start, RowError(_csv_reason(exc))
                continue
            raise FileFormatError(
                f"{path}:{start}: the record starting here is {_csv_reason(exc)} "
                f"(at line {reader.line_num}); is a quote left open?"
            ) from None
        if not fields:
            continue  # a blank line
        if len(fields) == width:
            yield start, dict(zip(names, fields, strict=True))
        elif len(fields) < width:
            padded = [*fields, *([None] * (width - len(fields)))]
            yield start, dict(zip(names, padded, strict=True))
        else:
            yield start, RowError("more fields than the header has")


# --------------------------------------------------------------------------------------------
# JSON Lines
# --------------------------------------------------------------------------------------------


def _read_jsonl(
    path: Path, known: Sequence[str], required: Sequence[str]
) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    for number, text in _lines(path, long_lines=True):
        if text is None:
            yield number, RowError(f"the line is longer than {MAX_LINE_BYTES} bytes")
            continue
        if not text.strip():
            continue
        yield number, _json_row(text, known, required)


def _json_row(
    text: str, known: Sequence[str], required: Sequence[str]
) -> Mapping[str, Any] | RowError:
    """The object on one line, or the RowError that says why it is not a row."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return RowError(f"not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return RowError("not a row: JSON nested too deeply")
    except ValueError:  # an integer of more than 4,300 digits
        return RowError("not valid JSON (a number too long to read)")
    if not isinstance(row, dict):
        return RowError("not a JSON object")
    unknown = [k for k in row if k not in known]
    if unknown:
        return RowError(f"unknown field(s) {_names(unknown)}")
    missing = [k for k in required if k not in row]
    if missing:
        return RowError(f"missing field(s) {', '.join(missing)}")
    return row


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
