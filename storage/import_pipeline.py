"""Writing one batch of an import while the next is parsed.

Parsing and validating rows is pure Python on the event loop's thread; writing a batch is
mostly the database's work — the PostgreSQL server, another process — during which that
thread only waits. :func:`write_batches` overlaps the two: while batch N is being written (a
task of its own), batch N+1 is read and parsed, and the parser hands the event loop a turn
every :data:`TURN_EVERY` rows so the writer can send its next statement as soon as the server
answers the last. On a machine with two cores or more the parsing and the server's work run in
parallel. Figures and what was tried: ``docs/performance.md``.

What does not change, compared with parsing and writing one batch after the other:

* Batches are written one at a time, in file order, each in its own transaction (the writer
  of batch N+1 starts after batch N's has ended), so later rows still win over earlier ones.
* Memory: two batches at most, the one being written and the one being parsed (parsing stops
  at a full batch until the writer takes it).
* Counting: ``report.rows`` and ``report.rejected`` take a batch's rows when it is handed to
  the writer, as if it had just been read; the counts of committed rows are the writer's.
* Errors: a failed write stops the parsing and is raised, with the report counting only the
  batches committed before it (the rows parsed ahead are neither counted nor written). An
  error while reading the rows (:class:`~storage.import_files.FileFormatError`) is raised
  once the batch being written has committed — what a sequential import leaves too. If that
  write fails as well, its error is the one raised, as it would have come first.
* Cancelled, the import cancels the write in progress (its transaction rolls back).

``overlap=False`` parses and writes one batch after the other, for comparison.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from bot.core.importing import RowError
from storage.import_files import ImportReport, batches

__all__ = ["TURN_EVERY", "write_batches"]

T = TypeVar("T")

#: Rows parsed between two turns given to the writer (about a millisecond of parsing: the
#: writer waits at most that long to send its next statement).
TURN_EVERY = 100

Rows = Iterable[tuple[int, Mapping[str, Any] | RowError]]


async def write_batches(
    rows: Rows,
    parse: Callable[[Mapping[str, Any]], T],
    size: int,
    report: ImportReport,
    write: Callable[[list[tuple[int, T]]], Coroutine[Any, Any, None]],
    *,
    overlap: bool = True,
) -> None:
    """Parses `rows` into batches of up to `size` (line, parsed row), recording unreadable and
    invalid rows in `report` as :func:`~storage.import_files.batches` does, and awaits
    `write(batch)` for each, in order; with `overlap`, the next batch is parsed while one is
    written (see the module docstring)."""
    if not overlap:
        for whole in batches(rows, parse, size, report):
            await write(whole)
        return
    pending = ImportReport()  # rows and rejections read since the last batch was handed on
    batch: list[tuple[int, T]] = []
    writing: asyncio.Task[None] | None = None
    try:
        until_turn = TURN_EVERY
        for line, row in rows:
            pending.rows += 1
            if isinstance(row, RowError):
                pending.rejected.append((line, str(row)))
            else:
                try:
                    batch.append((line, parse(row)))
                except RowError as exc:
                    pending.rejected.append((line, str(exc)))
            until_turn -= 1
            if until_turn == 0:
                until_turn = TURN_EVERY
                if writing is not None:
                    if writing.done():
                        await writing  # raises if the write failed
                        writing = None
                    else:
                        await asyncio.sleep(0)
            if len(batch) >= size:
                if writing is not None:
                    await writing
                _hand_on(pending, report)
                writing = asyncio.create_task(write(batch))
                batch = []
    except BaseException:
        if writing is not None:
            await _end(writing)
        _hand_on(pending, report)
        raise
    if writing is not None:
        await writing
    _hand_on(pending, report)
    if batch:
        await write(batch)


def _hand_on(pending: ImportReport, report: ImportReport) -> None:
    report.rows += pending.rows
    report.rejected.extend(pending.rejected)
    pending.rows = 0
    pending.rejected = []


async def _end(writing: asyncio.Task[None]) -> None:
    """After the parsing failed or was cancelled: the write in progress finishes (if the
    parsing failed; its own error then wins) or is cancelled (if the import was)."""
    current = asyncio.current_task()
    if current is not None and current.cancelling():
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
        return
    await writing
