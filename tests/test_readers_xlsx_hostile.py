"""Workbooks that cost far more than their size are refused, and only the child reading them
can die: the process that asked gets a FileRejected saying why."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from xlsx_support import (
    HEADERS,
    far_cell_workbook,
    lie_about_sizes,
    order_rows,
    orders_workbook,
    rows_xml,
    write_workbook,
    zip_bomb_workbook,
)

from feeds.errors import FileRejected
from ingest import xlsx_sandbox
from ingest.cells import cell_text
from ingest.readers import RowReader, open_reader
from ingest.xlsx_guard import SheetLimits


def read_all(path: Path, **kwargs: object) -> tuple[RowReader, list[object], list[object]]:
    with open(path, "rb") as fh:
        reader = open_reader(fh, path.name, **kwargs)  # type: ignore[arg-type]
        return reader, list(reader.chunks()), list(reader.rows())


def test_far_cell_kills_only_the_child_and_the_file_is_rejected(tmp_path: Path) -> None:
    path = far_cell_workbook(tmp_path / "far.xlsx")
    assert path.stat().st_size < 5_000
    with pytest.raises(FileRejected, match=r"asked for 512 GiB .* XFD1048576"):
        read_all(path)


def test_far_cell_declared_in_the_dimension_is_refused_before_reading(tmp_path: Path) -> None:
    path = far_cell_workbook(tmp_path / "far.xlsx", declared=True)
    with pytest.raises(FileRejected, match=r"used area is A1:XFD1048576: 16,384 columns"):
        read_all(path)


def test_zip_bomb_is_refused_by_its_declared_sizes(tmp_path: Path) -> None:
    path = zip_bomb_workbook(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 1_300_000
    with pytest.raises(FileRejected, match="zip bomb"):
        read_all(path)


def test_zip_bomb_lying_about_its_size_is_refused_when_unpacked(tmp_path: Path) -> None:
    path = lie_about_sizes(
        zip_bomb_workbook(tmp_path / "bomb.xlsx"), "xl/worksheets/sheet1.xml", 5_000
    )
    with pytest.raises(FileRejected, match="does not unpack to what the file says"):
        read_all(path)


def test_sheet_lying_about_its_size_past_its_start_is_refused(tmp_path: Path) -> None:
    """The lie shows only after the first 256 KiB, so calamine has read the sheet by the
    time the whole-sheet pass finds it: still refused, nothing of it read as rows."""
    noise = [[os.urandom(5_000).hex()] for _ in range(300)]  # 3 MB that hardly packs
    path = write_workbook(tmp_path / "a.xlsx", rows_xml([HEADERS, *noise]))
    lie_about_sizes(path, "xl/worksheets/sheet1.xml", 1_500_000)
    with pytest.raises(FileRejected, match="does not unpack to what the file says"):
        read_all(path)


def test_sheet_needing_more_than_the_memory_limit_is_rejected_naming_it(tmp_path: Path) -> None:
    far = '<row r="20000"><c r="ZZ20000"><v>1</v></c></row>'  # 702 x 20,000 cells, ~450 MB
    path = write_workbook(tmp_path / "a.xlsx", [*rows_xml([HEADERS, *order_rows(1)]), far])
    with pytest.raises(FileRejected, match="ran out of the 200 MiB of memory"):
        read_all(path, limits=SheetLimits(memory_bytes=200 * 1024**2))


def test_workbook_reading_past_the_clock_is_stopped(tmp_path: Path) -> None:
    path = orders_workbook(tmp_path / "a.xlsx", order_rows(3))
    with pytest.raises(FileRejected, match=r"took longer than 0\.001 seconds"):
        read_all(path, limits=SheetLimits(wall_seconds=0.001))


def test_rows_bigger_than_their_limit_are_rejected(tmp_path: Path) -> None:
    path = orders_workbook(tmp_path / "a.xlsx", order_rows(200))
    with pytest.raises(FileRejected, match="rows take more than 4 KiB"):
        read_all(path, limits=SheetLimits(rows_bytes=4096))


def test_sheet_area_over_the_cell_limit_is_refused(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "a.xlsx", [], dimension="A1:Z1000")
    with pytest.raises(FileRejected, match="26,000 cells, more than the 100 "):
        read_all(path, limits=SheetLimits(max_cells=100))


def test_not_a_zip_after_the_magic_bytes_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "junk.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(4000))
    with pytest.raises(FileRejected, match="could not be opened as an Excel workbook"):
        read_all(path)


def excel_workbook(tmp_path: Path) -> Path:
    """A workbook as Excel-like writers make it: shared strings, typed cells, blank rows,
    a title above the header, a column nobody maps, data not starting in column A."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([])
    ws.append([None, "Shipped orders, week 47"])
    ws.append([None, *HEADERS, "Notes"])
    for row in order_rows(40):
        ws.append([None, *row[:3], date(2026, 11, 20), *row[4:], "fragile"])
    ws.append([])
    ws.append([None, 12345678901234567, 2.0, 3.5, "2026-11-21", "UPS", 9400111899223456789012.0])
    path = tmp_path / "excel.xlsx"
    wb.save(path)
    return path


def test_normal_workbook_reads_the_same_in_the_child_and_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = excel_workbook(tmp_path)
    sandboxed, sandboxed_chunks, sandboxed_rows = read_all(path, chunk_rows=7)
    monkeypatch.setattr(xlsx_sandbox, "SANDBOXED", False)
    here, here_chunks, here_rows = read_all(path, chunk_rows=7)
    assert sandboxed.info == here.info
    assert sandboxed_chunks == here_chunks
    assert sandboxed_rows == here_rows
    assert len(sandboxed_rows) == 41


def test_normal_workbook_rows_are_calamine_cells_as_text(tmp_path: Path) -> None:
    """What the reader returned before it moved into a child: calamine's cells in this
    process, through cell_text, row numbers from the sheet's first used row."""
    path = excel_workbook(tmp_path)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet")
    assert sheet.start is not None
    first = sheet.start[0] + 1
    direct = [
        (first + i, [cell_text(c) for c in row])
        for i, row in enumerate(sheet.iter_rows())
        if any(cell_text(c).strip() for c in row[:8])
    ][2:]  # the title and the header rows
    _, _, rows = read_all(path)
    width = len(HEADERS) + 1
    assert rows == [(n, cells[:width]) for n, cells in direct]


def test_workbook_rows_reach_a_forked_validating_worker_the_same(tmp_path: Path) -> None:
    """convert/validate on two cores fork a worker that reads the rows the child left in
    the unnamed temporary file: it must see exactly what this process sees."""
    from config.settings import load_settings
    from processors.convert import check_file

    rows = order_rows(300)
    rows[7][0] = "not-an-order"
    path = orders_workbook(tmp_path / "a.xlsx", rows)
    settings = load_settings(None)
    forked = check_file(path, settings, parallel=True)
    here = check_file(path, settings, parallel=False)
    assert (forked.lines, forked.accepted, forked.rejected) == (300, 299, 1)
    assert (here.lines, here.accepted, here.rejected) == (300, 299, 1)
    assert list(forked.errors) == list(here.errors)
