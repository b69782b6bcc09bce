"""The per-file report: formula-safe cells, Excel-friendly CSV, streamed JSON, spilling."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from feeds.model import LineError, LineWarning
from processors.convert import FileOutcome
from processors.problems import ProblemLog
from processors.reports import safe_cell, write_file_reports


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell_neutralises_formula_starts(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["", "UPS", "112-1234567-1234567", "a=b"])
def test_safe_cell_leaves_ordinary_text_alone(text: str) -> None:
    assert safe_cell(text) == text


def outcome_with_problems() -> FileOutcome:
    outcome = FileOutcome(file="orders.csv", lines=3, accepted=1, rejected=2)
    outcome.errors.extend(
        [
            LineError(2, "Order ID", '=HYPERLINK("http://x")', "not an order id"),
            LineError(4, "Ship Method", "ok", "-looks like a formula"),
        ]
    )
    outcome.warnings.extend([LineWarning(3, "Carrier", "Bob", "sent as carrier name")])
    return outcome


def test_csv_report_is_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    csv_path, _ = write_file_reports(outcome_with_problems(), tmp_path)
    data = csv_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == data.count(b"\n")


def test_csv_report_makes_values_and_messages_formula_safe(tmp_path: Path) -> None:
    csv_path, _ = write_file_reports(outcome_with_problems(), tmp_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    table = rows[rows.index(["line", "severity", "column", "value", "reason"]) + 1 :]
    assert table[0][3] == '\'=HYPERLINK("http://x")'
    assert table[2][4] == "'-looks like a formula"


def test_csv_report_lists_errors_and_warnings_in_line_order(tmp_path: Path) -> None:
    csv_path, _ = write_file_reports(outcome_with_problems(), tmp_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    table = rows[rows.index(["line", "severity", "column", "value", "reason"]) + 1 :]
    assert [(r[0], r[1]) for r in table] == [("2", "error"), ("3", "warning"), ("4", "error")]


def test_json_report_keeps_raw_values(tmp_path: Path) -> None:
    _, json_path = write_file_reports(outcome_with_problems(), tmp_path)
    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert report["errors"][0] == {
        "line": 2,
        "column": "Order ID",
        "value": '=HYPERLINK("http://x")',
        "reason": "not an order id",
    }
    assert report["warnings"][0]["line"] == 3


def test_reports_leave_no_temporary_files(tmp_path: Path) -> None:
    write_file_reports(outcome_with_problems(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "orders.csv.report.csv",
        "orders.csv.report.json",
    ]


def test_problem_log_spills_past_its_bound_and_keeps_order() -> None:
    log: ProblemLog[LineError] = ProblemLog(LineError, in_memory=3)
    log.extend(LineError(n, "c", f"v{n}", "r") for n in range(10))
    log.extend([LineError(10, None, "", "last")])
    assert len(log) == 11
    assert [e.line for e in log] == list(range(11))
    assert list(log)[10] == LineError(10, None, "", "last")
    assert [e.line for e in log.head(5)] == [0, 1, 2, 3, 4]
    log.close()
