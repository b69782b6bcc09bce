"""The result report as an XLSX workbook, every cell of the seller's columns typed as text.

Opened in Excel, a CSV loses what sellers need most: a 14-digit order item id becomes
1.23457E+13, a 22-digit USPS tracking number loses its last digits, an order id such as
"111-0000001-0000001" may turn into a date. A workbook can say "this is text": each of
the seller's cells is written as a string in a column whose format is text ("@"), so
Excel shows it as sent and keeps it text when edited. Strings are never formulas in a
workbook, so no apostrophe is needed against formula injection (the CSV needs one).

xlsxwriter in constant-memory mode writes row by row to a temporary file, so a
million-line report does not hold a million rows of cells in memory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from types import TracebackType

import xlsxwriter

SHEET = "Result"
MAX_ROWS = 1_048_576  # rows in one Excel sheet


class XlsxReport:
    """Header rows, a blank row, then one table: ``columns`` (the seller's and the added
    ones, all text) and, last, the seller's line number (a number)."""

    def __init__(self, header: Sequence[tuple[str, str]], columns: Sequence[str]) -> None:
        fd, self._path = tempfile.mkstemp(prefix="shipfeed-", suffix=".xlsx")
        os.close(fd)
        self._book = xlsxwriter.Workbook(self._path, {"constant_memory": True})
        self._text = self._book.add_format({"num_format": "@"})
        self._bold = self._book.add_format({"bold": True})
        self._header = list(header)
        self._columns = list(columns)
        self._sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        """A sheet with the header rows and the column names; a report longer than one
        sheet's rows (Excel's limit) goes on in the next sheet, headed the same way."""
        self._sheets += 1
        name = SHEET if self._sheets == 1 else f"{SHEET} ({self._sheets})"
        self._sheet = self._book.add_worksheet(name)
        self._sheet.set_column(0, max(len(self._columns) - 2, 0), 18, self._text)
        for r, (label, value) in enumerate(self._header):
            self._sheet.write_string(r, 0, label, self._bold)
            self._sheet.write_string(r, 1, value)
        self._row = len(self._header) + 1  # a blank row, as in the CSV
        self._sheet.freeze_panes(self._row + 1, 0)
        for c, name in enumerate(self._columns):
            self._sheet.write_string(self._row, c, name, self._bold)
        self._row += 1

    def add(self, cells: Sequence[str], line: int) -> None:
        """One row: each cell as text (none is ever a formula or a number), then the line."""
        if self._row >= MAX_ROWS:
            self._new_sheet()
        for c, value in enumerate(cells):
            if value != "":
                self._sheet.write_string(self._row, c, value)
        self._sheet.write_number(self._row, len(cells), line)
        self._row += 1

    def finish(self) -> bytes:
        self._book.close()
        with open(self._path, "rb") as fh:
            return fh.read()

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)

    def __enter__(self) -> XlsxReport:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
