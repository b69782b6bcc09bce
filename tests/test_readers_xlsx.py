"""Reading XLSX workbooks: sheet choice, typed cells as text, numbering."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from feeds.errors import FileRejected
from ingest.readers import open_reader


def workbook(tmp_path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


def read(path: Path, **kwargs: object) -> tuple[object, list[int], dict[str, list[str]]]:
    with open(path, "rb") as fh:
        reader = open_reader(fh, path.name, **kwargs)  # type: ignore[arg-type]
        chunks = list(reader.chunks())
    lines = [n for c in chunks for n in c.lines]
    cells = {f: [v for c in chunks for v in c.cells[f]] for f in chunks[0].cells} if chunks else {}
    return reader.info, lines, cells


ROWS: list[list[object]] = [
    ["Order ID", "Ship Date", "Qty", "Tracking Number"],
    ["111-1234567-1234567", date(2026, 1, 2), 2, "1Z999AA10123456784"],
]


def test_first_sheet_is_read_by_default(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"Shipped": ROWS, "Other": [["Order ID", "Ship Date"], ["9", "x"]]})
    info, _, cells = read(path)
    assert info.kind == "xlsx"  # type: ignore[attr-defined]
    assert info.sheet == "Shipped"  # type: ignore[attr-defined]
    assert cells["order_id"] == ["111-1234567-1234567"]


def test_named_sheet_is_read(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"Shipped": ROWS, "Other": [["Order ID", "Ship Date"], ["9", "x"]]})
    info, _, cells = read(path, sheet="Other")
    assert info.sheet == "Other"  # type: ignore[attr-defined]
    assert cells["order_id"] == ["9"]


def test_unknown_sheet_name_is_rejected_listing_the_sheets(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"Shipped": ROWS})
    with pytest.raises(FileRejected, match="'Shipped'"):
        read(path, sheet="Orders")


def test_date_cell_becomes_iso_date(tmp_path: Path) -> None:
    _, _, cells = read(workbook(tmp_path, {"S": ROWS}))
    assert cells["ship_date"] == ["2026-01-02"]


def test_datetime_cell_becomes_iso_datetime(tmp_path: Path) -> None:
    rows = [ROWS[0], ["1", datetime(2026, 1, 2, 14, 30), 1, "x"]]
    _, _, cells = read(workbook(tmp_path, {"S": rows}))
    assert cells["ship_date"] == ["2026-01-02T14:30:00"]


def test_whole_numbers_have_no_decimal_point(tmp_path: Path) -> None:
    rows = [ROWS[0], [1234567, "2026-01-02", 2.0, 123456789012]]
    _, _, cells = read(workbook(tmp_path, {"S": rows}))
    assert cells["order_id"] == ["1234567"]
    assert cells["quantity"] == ["2"]
    assert cells["tracking_number"] == ["123456789012"]


def test_number_too_long_to_be_exact_is_not_given_invented_digits(tmp_path: Path) -> None:
    rows = [ROWS[0], ["1", "2026-01-02", 1, 9400111899223456789012.0]]
    _, _, cells = read(workbook(tmp_path, {"S": rows}))
    assert "E+21" in cells["tracking_number"][0]


def test_blank_rows_are_counted_then_dropped(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        *ROWS,
        [],
        [None, None, None, None],
        ["2", "2026-01-03", 1, "x"],
        [],
        [],
    ]
    _, lines, cells = read(workbook(tmp_path, {"S": rows}))
    assert lines == [2, 5]
    assert cells["order_id"] == ["111-1234567-1234567", "2"]


def test_header_only_sheet_yields_no_rows(tmp_path: Path) -> None:
    _, lines, _ = read(workbook(tmp_path, {"S": [ROWS[0]]}))
    assert lines == []


def test_empty_sheet_is_rejected_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="empty"):
        read(workbook(tmp_path, {"S": []}))


def test_xlsx_chunks_are_bounded(tmp_path: Path) -> None:
    rows = [ROWS[0], *([str(i), "2026-01-02", 1, "x"] for i in range(300))]
    path = workbook(tmp_path, {"S": rows})
    with open(path, "rb") as fh:
        chunks = list(open_reader(fh, path.name, chunk_rows=100).chunks())
    assert [len(c) for c in chunks] == [100, 100, 100]
    assert chunks[-1].lines[-1] == 301


def test_legacy_xls_is_rejected_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(FileRejected, match="xlsx"):
        read(path)
