"""The validation pass of an import: read the whole file, judge every row, write nothing.

An import reads its file twice (issue #14). This first pass streams every row through the
core's parser (:mod:`bot.core.importing`) and records each bad row with its line and reason —
including a key already seen ("order_id O1 also on line 7": the first row wins, the later one
is refused rather than silently overwriting it). Only the keys seen and the rejected lines are
kept, so memory grows with the number of rows but not with their size. If the file cannot be
read as a whole, :class:`~storage.import_files.FileFormatError` escapes before anything was
written.

The second pass (:func:`accepted_rows`) re-reads the file and hands on exactly the rows this
pass accepted, after checking the file has not changed in between.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from bot.core.importing import RowError
from storage.import_files import FileFormatError, Progress

__all__ = ["Checked", "FileChangedError", "accepted_rows", "check_rows", "fingerprint"]

T = TypeVar("T")
Rows = Iterable[tuple[int, Mapping[str, Any] | RowError]]

#: Rows between two progress reports.
_PROGRESS_EVERY = 1_000


class FileChangedError(FileFormatError):
    """The file changed between the validation pass and the write."""


@dataclass
class Checked(Generic[T]):
    """What the validation pass found: `rows` data rows read, `rejected` (line, reason) of
    each bad one; `accepted` rows remain."""

    rows: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.rows - len(self.rejected)


def fingerprint(path: Path) -> tuple[int, int]:
    """Size and modification time: enough to notice a file rewritten between the passes."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def check_rows(
    rows: Rows,
    parse: Callable[[Mapping[str, Any]], T],
    key: Callable[[T], str],
    key_name: str,
    *,
    inspect: Callable[[T], None] | None = None,
    progress: Progress | None = None,
) -> Checked[T]:
    """Parses every row and records the bad ones; `inspect` sees each accepted row (and may
    raise to stop the import before anything is written). Raises whatever reading the file
    raises (:class:`FileFormatError`)."""
    checked: Checked[T] = Checked()
    seen: dict[str, int] = {}
    pending = 0
    for line, row in rows:
        checked.rows += 1
        pending += 1
        if progress is not None and pending >= _PROGRESS_EVERY:
            progress(pending)
            pending = 0
        if isinstance(row, RowError):
            checked.rejected.append((line, str(row)))
            continue
        try:
            parsed = parse(row)
        except RowError as exc:
            checked.rejected.append((line, str(exc)))
            continue
        value = key(parsed)
        first = seen.setdefault(value, line)
        if first != line:
            checked.rejected.append((line, f"{key_name} {value} is also on line {first}"))
            continue
        if inspect is not None:
            inspect(parsed)
    if progress is not None and pending:
        progress(pending)
    return checked


def accepted_rows(
    rows: Rows, checked: Checked[Any], path: Path, expected: tuple[int, int]
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The rows of a second reading of `path` that the validation pass accepted. Raises
    :class:`FileChangedError` when the file's :func:`fingerprint` is no longer `expected` or
    a row reads differently now."""
    if fingerprint(path) != expected:
        raise FileChangedError(f"{path}: the file changed while it was being imported")
    rejected = {line for line, _ in checked.rejected}
    for line, row in rows:
        if line in rejected:
            continue
        if isinstance(row, RowError):
            raise FileChangedError(f"{path}:{line}: the file changed while it was being imported")
        yield line, row
