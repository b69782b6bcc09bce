"""A formula cell with no saved value is not an empty cell: its line is rejected with the
formula, so a tracking number that was never calculated is never confirmed as no tracking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from xlsx_support import HEADERS, Formula, order_rows, orders_workbook, rows_xml, write_workbook

from feeds.errors import FileRejected
from feeds.rules import ChunkRows, RuleContext, validate_rows
from ingest.readers import open_reader
from ingest.xlsx_guard import SheetLimits

RULES = RuleContext(now=datetime.now(UTC), timezone=ZoneInfo("UTC"))


def validated(path: Path, **kwargs: object) -> ChunkRows:
    with open(path, "rb") as fh:
        reader = open_reader(fh, path.name, **kwargs)  # type: ignore[arg-type]
        results = [validate_rows(c, RULES) for c in reader.chunks()]
    return ChunkRows(
        lines=[n for r in results for n in r.lines],
        rows=[x for r in results for x in r.rows],
        errors=[e for r in results for e in r.errors],
    )


def test_tracking_formula_without_value_rejects_its_line_naming_cell_and_formula(
    tmp_path: Path,
) -> None:
    rows = order_rows(3)
    rows[1][5] = Formula("VLOOKUP(A3,Tracking!A:B,2,FALSE)")
    result = validated(orders_workbook(tmp_path / "a.xlsx", rows))
    assert result.lines == [2, 4]
    [error] = result.errors
    assert (error.line, error.column) == (3, "Tracking Number")
    assert error.value == "=VLOOKUP(A3,Tracking!A:B,2,FALSE)"
    assert "cell F3 holds the formula =VLOOKUP(A3,Tracking!A:B,2,FALSE) but no saved value" in (
        error.reason
    )


def test_formula_with_a_saved_value_is_read_as_that_value(tmp_path: Path) -> None:
    rows = order_rows(2)
    tracking = str(rows[1][5])
    rows[1][5] = Formula("UPPER(G3)", saved=tracking)
    result = validated(orders_workbook(tmp_path / "a.xlsx", rows))
    assert result.lines == [2, 3] and not result.errors
    assert result.rows[1][3] == tracking


def test_formula_without_value_in_a_column_nobody_reads_is_left_alone(tmp_path: Path) -> None:
    rows = [[*r, Formula("NOW()")] for r in order_rows(2)]
    path = write_workbook(tmp_path / "a.xlsx", rows_xml([[*HEADERS, "Printed"], *rows]))
    result = validated(path)
    assert result.lines == [2, 3] and not result.errors


def test_line_holding_only_formulas_without_values_is_reported_not_skipped(
    tmp_path: Path,
) -> None:
    rows = order_rows(2)
    blank_but_formula: list[object] = ["", "", "", "", "", Formula("B9&C9")]
    result = validated(orders_workbook(tmp_path / "a.xlsx", [rows[0], blank_but_formula, rows[1]]))
    assert result.lines == [2, 4]
    assert [(e.line, e.column) for e in result.errors] == [(3, "Tracking Number")]


def test_more_formulas_without_values_than_can_be_listed_reject_the_file(tmp_path: Path) -> None:
    rows = order_rows(5)
    for row in rows:
        row[5] = Formula("A1")
    with pytest.raises(FileRejected, match="formulas without a saved value"):
        validated(orders_workbook(tmp_path / "a.xlsx", rows), limits=SheetLimits(max_formulas=3))


def test_long_formula_is_quoted_shortened(tmp_path: Path) -> None:
    rows = order_rows(1)
    rows[0][5] = Formula("CONCAT(" + ",".join(["A1"] * 2000) + ")")
    [error] = validated(orders_workbook(tmp_path / "a.xlsx", rows)).errors
    assert len(error.reason) < 700 and "more characters" in error.reason
