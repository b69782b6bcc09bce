"""The XLSX result report's own rules, read back with openpyxl."""

from __future__ import annotations

import io

import openpyxl
import pytest

from processors import xlsxreport
from processors.xlsxreport import XlsxReport


def test_report_longer_than_a_sheet_goes_on_in_the_next_sheet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsxreport, "MAX_ROWS", 10)
    with XlsxReport([("Result of", "big.csv")], ["Order ID", "line"]) as book:
        for n in range(12):
            book.add([f"111-{n:07d}-0000001"], n + 2)
        data = book.finish()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    lines = [
        r[1].value for ws in wb.worksheets for r in ws.iter_rows() if isinstance(r[1].value, int)
    ]
    assert wb.sheetnames == ["Result", "Result (2)"] and lines == list(range(2, 14))


def test_a_cell_that_looks_like_a_formula_stays_text() -> None:
    with XlsxReport([], ["Note", "line"]) as book:
        book.add(['=HYPERLINK("http://x")'], 2)
        data = book.finish()
    cell = openpyxl.load_workbook(io.BytesIO(data)).active["A3"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x")', "s")
