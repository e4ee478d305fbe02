"""Cells that a spreadsheet will not run: formula neutralisation for every CSV the project writes.

A CSV opened in Excel, LibreOffice or Google Sheets treats a cell starting with ``=``, ``+``,
``-`` or ``@`` (and, in some, a leading tab or carriage return) as a formula: a customer named
``=cmd|' /C calc'!A0`` or ``+HYPERLINK("http://evil", "click")`` would run or phone home on the
manager's machine (OWASP "CSV injection"). Names come from customers and shop imports, so such
text is stored as written and made harmless where it leaves as CSV: :func:`safe_cell` prefixes
it with an apostrophe, which spreadsheets show as text and do not display.

Plain numbers (``-5``, ``+3.5``, ``-12%``) are left alone: they are not formulas, and a report's
negative figure should stay a number. Write CSV through :func:`safe_row` (or
:func:`safe_rows`) rather than ``csv.writer.writerow`` directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row", "safe_rows"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def safe_cell(value: object) -> object:
    """`value` as a spreadsheet will show it but never run it: text that starts like a
    formula gets a leading ``'``; numbers, None and other text are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if _NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    """A row for ``csv.writer.writerow`` with every cell through :func:`safe_cell`."""
    return [safe_cell(cell) for cell in row]


def safe_rows(rows: Iterable[Iterable[object]]) -> Iterator[list[object]]:
    """Rows for ``csv.writer.writerows`` with every cell through :func:`safe_cell`."""
    return (safe_row(row) for row in rows)
