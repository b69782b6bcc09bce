"""Reports written back to sellers: a CSV for people, a JSON for machines.

Sections, one per report kind:

* cells and files — ``safe_cell`` (formula-safe text), ``write_atomic`` (temp name, rename);
* file report — what local validation made of one input file (``FileOutcome``);
* result report — the seller's own rows, each with what became of it at Amazon.

The CSV opens in Excel without surprises: UTF-8 with a BOM (or Excel reads it as the
local code page), CRLF line ends, and every cell that Excel would take for a formula
(a value or message starting with = + - @, tab or CR) prefixed with an apostrophe, so a
hostile or unlucky cell such as ``=HYPERLINK(...)`` is shown, never run.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

from feeds.model import LineError, LineWarning
from processors.convert import FileOutcome
from processors.problems import ProblemLog

# ---------------------------------------------------------------------------------------
# Cells and files

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text that Excel and other spreadsheets show as typed instead of evaluating it."""
    if text and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through ``write`` under a temporary name in the same folder, then rename.

    A reader of the folder (the seller's SFTP client, a sync tool) sees the old file or
    the complete new one, never a half-written report.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return path


def _csv_writer(fh: IO[bytes]) -> tuple[io.TextIOWrapper, Any]:
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="", write_through=False)
    return text, csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


# ---------------------------------------------------------------------------------------
# File report: local validation of one input file

FILE_REPORT_COLUMNS = ("line", "severity", "column", "value", "reason")


def file_report_paths(folder: Path, input_name: str) -> tuple[Path, Path]:
    """Where the CSV and JSON reports of ``input_name`` go inside ``folder``."""
    stem = Path(input_name).name
    return Path(folder) / f"{stem}.report.csv", Path(folder) / f"{stem}.report.json"


def write_file_reports(outcome: FileOutcome, folder: Path) -> tuple[Path, Path]:
    """Write both reports of one input file into ``folder``; return their paths."""
    csv_path, json_path = file_report_paths(folder, outcome.file)
    write_atomic(csv_path, lambda fh: write_file_report_csv(outcome, fh))
    write_atomic(json_path, lambda fh: write_file_report_json(outcome, fh))
    return csv_path, json_path


def file_summary(outcome: FileOutcome) -> dict[str, Any]:
    """The counts and what was found out about the file, keyed as the JSON report keys them."""
    info = outcome.info
    return {
        "file": outcome.file,
        "kind": info.kind if info else None,
        "encoding": info.encoding if info else None,
        "delimiter": info.delimiter if info else None,
        "sheet": info.sheet if info else None,
        "columns": {k: v for k, v in info.columns.items() if v is not None} if info else {},
        "unknown_columns": list(info.unknown_columns) if info else [],
        "lines": outcome.lines,
        "accepted": outcome.accepted,
        "rejected": outcome.rejected,
        "duplicates": outcome.duplicates,
        "packages": outcome.packages,
        "outputs": [p.name for p in outcome.outputs],
        "file_error": outcome.file_error,
        "file_hint": outcome.file_hint,
        **_date_summary(outcome),
    }


def _date_summary(outcome: FileOutcome) -> dict[str, Any]:
    """How slash dates were read: a note when a date of the file decided, a warning when
    the seller's setting did (every date could be read both ways)."""
    d = outcome.dates
    return {
        "date_order": d.order if d else None,
        "date_note": d.message if d and not d.is_warning else None,
        "date_warning": d.message if d and d.is_warning else None,
    }


def write_file_report_json(
    outcome: FileOutcome, fh: IO[bytes], *, simulated: bool | None = None
) -> None:
    """One JSON object, streamed: errors and warnings are never all in memory at once.
    ``simulated``: the service's intake reports say whether the ledger is simulated."""
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="\n")
    try:
        write_file_report_json_text(outcome, text, simulated=simulated)
        text.flush()
    finally:
        text.detach()


def write_file_report_json_text(
    outcome: FileOutcome, out: TextIO, *, simulated: bool | None = None
) -> None:
    summary = file_summary(outcome)
    out.write("{")
    if simulated is not None:
        out.write(f'"simulated": {json.dumps(simulated)}, ')
    for key, value in summary.items():
        out.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}, ")
    out.write('"warnings": [')
    _json_items(outcome.warnings, out)
    out.write('], "errors": [')
    _json_items(outcome.errors, out)
    out.write("]}\n")


def _json_items(problems: Iterable[LineError | LineWarning], out: TextIO) -> None:
    first = True
    for p in problems:
        item = {"line": p.line, "column": p.column, "value": p.value, "reason": p.reason}
        out.write(("" if first else ", ") + json.dumps(item, ensure_ascii=False))
        first = False


def write_file_report_csv(outcome: FileOutcome, fh: IO[bytes], *, simulated: bool = False) -> None:
    """Summary rows, a blank row, then one row per problem in line order."""
    text, writer = _csv_writer(fh)
    try:
        for label, value in _summary_rows(outcome, simulated):
            writer.writerow([safe_cell(label), safe_cell(value)])
        writer.writerow([])
        writer.writerow(FILE_REPORT_COLUMNS)
        for severity, p in _in_line_order(outcome):
            column, value, reason = p.column or "", p.value, p.reason
            writer.writerow([p.line, severity, *map(safe_cell, (column, value, reason))])
        text.flush()
    finally:
        text.detach()


def _summary_rows(outcome: FileOutcome, simulated: bool = False) -> Iterator[tuple[str, str]]:
    info = outcome.info
    yield "File", outcome.file
    if simulated:
        yield "Mode", SIMULATED_NOTE
    if outcome.file_error is not None:
        reason = outcome.file_error
        if outcome.file_hint:
            reason += f" ({outcome.file_hint})"
        yield "File rejected", reason
    if info is not None:
        if info.kind == "xlsx":
            yield "Sheet", info.sheet or ""
        else:
            yield "Encoding", info.encoding or ""
            yield "Delimiter", {"\t": "tab"}.get(info.delimiter or "", info.delimiter or "")
        if info.unknown_columns:
            yield "Ignored columns", ", ".join(info.unknown_columns)
    if outcome.dates is not None:
        label = "Dates (warning)" if outcome.dates.is_warning else "Dates"
        yield label, outcome.dates.message
    yield "Lines", str(outcome.lines)
    yield "Accepted", str(outcome.accepted)
    yield "Rejected", str(outcome.rejected)
    yield "Duplicates (sent once)", str(outcome.duplicates)
    if outcome.outputs:
        yield "Feed files", ", ".join(p.name for p in outcome.outputs)


def _in_line_order(outcome: FileOutcome) -> Iterator[tuple[str, LineError | LineWarning]]:
    errors = (("error", e) for e in outcome.errors)
    warnings = (("warning", w) for w in outcome.warnings)
    return heapq.merge(errors, warnings, key=lambda pair: pair[1].line)


#: ``validate --json`` prints exactly the JSON report.
write_validate_json = write_file_report_json_text


def file_summary_text(outcome: FileOutcome, max_errors: int = 20) -> str:
    """A few lines for a terminal: what the file is, the counts, the first errors."""
    info = outcome.info
    out = [f"{outcome.file}:"]
    if info is not None:
        if info.kind == "xlsx":
            out.append(f"  sheet {info.sheet!r}")
        else:
            delim = {"\t": "tab"}.get(info.delimiter or "", repr(info.delimiter))
            out.append(f"  {info.kind}, encoding {info.encoding}, delimiter {delim}")
        if info.unknown_columns:
            out.append("  ignored columns: " + ", ".join(info.unknown_columns))
    if outcome.dates is not None:
        label = "WARNING" if outcome.dates.is_warning else "note"
        out.append(f"  {label}: {outcome.dates.message}")
    if outcome.file_error is not None:
        hint = f" ({outcome.file_hint})" if outcome.file_hint else ""
        out.append(f"  FILE REJECTED: {outcome.file_error}{hint}")
        return "\n".join(out)
    out.append(
        f"  {outcome.lines} lines: {outcome.accepted} accepted, {outcome.rejected} rejected, "
        f"{outcome.duplicates} duplicates, {outcome.warning_count} warnings"
    )
    if outcome.outputs:
        out.append("  wrote " + ", ".join(str(p) for p in outcome.outputs))
    out += _problem_lines(outcome.errors, max_errors, "", "errors")
    out += _problem_lines(outcome.warnings, max_errors, "warning: ", "warnings")
    return "\n".join(out)


def _problem_lines(
    problems: ProblemLog[LineError] | ProblemLog[LineWarning], most: int, label: str, what: str
) -> list[str]:
    """The first ``most`` problems, one line each, and how many more the report holds: the
    summary stays short for a file with thousands of bad lines."""
    shown: Sequence[LineError | LineWarning] = problems.head(most)
    out = []
    for p in shown:
        column = f" [{p.column}]" if p.column else ""
        value = f" {p.value!r}" if p.value else ""
        out.append(f"  {label}line {p.line}{column}{value}: {p.reason}")
    if len(problems) > len(shown):
        out.append(f"  ... and {len(problems) - len(shown)} more {what} in the report")
    return out


# ---------------------------------------------------------------------------------------
# Result report: what became of every line of one input file, once all have ended
#
# The seller's own file, row for row: their columns and cells in their order (read again
# from the archived file), then what became of each line. Rejected and duplicate lines are
# included, so the report can be laid beside the file they sent, or corrected and sent
# again. When the original is gone (archive retention), the columns are the order fields
# the ledger recorded instead, and a note at the top says so. Rendered to bytes here, CSV
# and JSON in one pass; the outbox writes them atomically (temp name, rename).

#: Appended after the seller's columns. ``line`` last: the row number the seller's
#: spreadsheet shows, to find a line again when blank rows were left out.
ADDED_COLUMNS = ("status", "amazon_result_code", "message", "what_to_do", "line")
#: The columns of a report made from the ledger alone (the original file is gone).
LEDGER_COLUMNS = ("order_id", "order_item_id", "tracking_number")

#: What a seller should do about a line in each final status (codes refine "error").
RESULT_ADVICE: dict[str, str] = {
    "confirmed": "nothing: Amazon has the shipment",
    "duplicate": "nothing: this line repeats an earlier one, which is sent once",
    "conflict": (
        "this order line was already confirmed with another tracking number; if this one "
        "replaces it, ask the operator to send it as a correction (python run.py correct "
        "ORDER); if it is right as confirmed, nothing"
    ),
    "error": "correct the line and upload it again in a new file",
    "needs_attention": (
        "shipfeed tried several times without success; the operator is looking at it "
        "(nothing to upload)"
    ),
    "cancelled": "nothing: the line was cancelled and not sent to Amazon",
    "superseded": (
        "nothing, if the later line for this order item (named in the message) is right: "
        "it was sent instead of this one"
    ),
    "rejected": "correct the line and upload it again in a new file",
    "in_queue": "nothing yet: waiting for the next batch",
    "submitted": "nothing yet: Amazon is processing it",
}

SIMULATED_NOTE = "SIMULATED: shipfeed ran against its built-in simulator; nothing reached Amazon"


def result_advice(status: str, code: str | None) -> str:
    """Plain words on what to do about one line, by status and Amazon's result code."""
    if status == "error" and code:
        from processors.outcomes import KNOWN

        known = KNOWN.get(code)
        if known is not None:
            return known.todo
    return RESULT_ADVICE.get(status, "ask the operator")


def result_outcome(line: Any) -> tuple[str, str, str, str]:
    """One ``FileLine``'s (processors.ledger.queries) status, Amazon result code, message
    and what to do, unescaped."""
    if line.outcome == "rejected":
        message = "; ".join(
            f"{e.column + ': ' if e.column else ''}{e.reason}"
            + (f" (value {e.value!r})" if e.value else "")
            for e in line.errors
        )
        return "rejected", "", message, result_advice("rejected", None)
    return (
        line.outcome,
        line.result_code or "",
        line.message or "",
        result_advice(line.outcome, line.result_code),
    )


def ledger_cells(line: Any) -> list[str]:
    """A line's cells under LEDGER_COLUMNS, for the report made without the original file.
    A rejected line was never stored as an order: only a rejected order id is known."""
    if line.outcome == "rejected":
        order = next((e.value for e in line.errors if e.column == "order_id"), "")
        return [order or "", "", ""]
    return [line.order_id or "", line.order_item_id or "", line.tracking_number or ""]


def column_keys(headers: Sequence[str]) -> list[str]:
    """The JSON keys of a row's cells: the seller's headers, made unique (a blank header
    becomes "column N", a repeated one "NAME (2)") so that no cell hides another."""
    keys: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(headers, start=1):
        key = h or f"column {i}"
        n = 1
        while key in seen:
            n += 1
            key = f"{h or f'column {i}'} ({n})"
        seen.add(key)
        keys.append(key)
    return keys


def write_result_reports(
    file_name: str,
    columns: Sequence[str],
    rows: Iterable[tuple[Sequence[str], Any]],
    csv_fh: IO[bytes],
    json_fh: IO[bytes],
    *,
    simulated: bool,
    note: str | None = None,
    xlsx_fh: IO[bytes] | None = None,
    updated_at: str | None = None,
) -> dict[str, int]:
    """Every result report of one file in one pass over ``rows``; returns the count per status.

    ``rows``: each line's cells (one per column) with its ``FileLine``, in line order.
    ``note``: said at the top of each, e.g. why the seller's own columns are missing.
    ``updated_at``: when this is a report written again because a line changed after the
    first one (a resend, a correction, a late confirmation); said at the top.
    CSV: header rows, a blank row, then the seller's columns + ADDED_COLUMNS, every cell
    formula-safe. XLSX (when ``xlsx_fh`` is given): the same rows, every cell text
    (processors.xlsxreport). JSON: ``{"file", "simulated", "note", "updated_at",
    "columns", "rows", "counts"}``, each row ``{"line", "cells", "status",
    "amazon_result_code", "message", "what_to_do"}``.
    """
    from processors.xlsxreport import XlsxReport

    text, writer = _csv_writer(csv_fh)
    out = io.TextIOWrapper(json_fh, encoding="utf-8", newline="\n")
    keys = column_keys(columns)
    counts: dict[str, int] = {}
    header = [("Result of", file_name)]
    if updated_at:
        header.append(("Updated at", updated_at))
    if simulated:
        header.append(("Mode", SIMULATED_NOTE))
    if note:
        header.append(("Note", note))
    book = XlsxReport(header, [*columns, *ADDED_COLUMNS]) if xlsx_fh is not None else None
    try:
        for label, value in header:
            writer.writerow([label, safe_cell(value)])
        writer.writerow([])
        writer.writerow([*map(safe_cell, columns), *ADDED_COLUMNS])
        out.write(f'{{"file": {json.dumps(file_name, ensure_ascii=False)}, ')
        out.write(f'"simulated": {json.dumps(simulated)}, ')
        out.write(f'"note": {json.dumps(note, ensure_ascii=False)}, ')
        out.write(f'"updated_at": {json.dumps(updated_at)}, ')
        out.write(f'"columns": {json.dumps(keys, ensure_ascii=False)}, "rows": [')
        for n, (cells, line) in enumerate(rows):
            status, code, message, todo = result_outcome(line)
            counts[status] = counts.get(status, 0) + 1
            writer.writerow(
                [
                    *map(safe_cell, cells),
                    status,
                    safe_cell(code),
                    safe_cell(message),
                    safe_cell(todo),
                    line.line,
                ]
            )
            if book is not None:
                book.add([*cells, status, code, message, todo], line.line)
            item = {
                "line": line.line,
                "cells": dict(zip(keys, cells, strict=True)),
                "status": status,
                "amazon_result_code": code,
                "message": message,
                "what_to_do": todo,
            }
            out.write(("" if n == 0 else ", ") + json.dumps(item, ensure_ascii=False))
        out.write(f'], "counts": {json.dumps(counts)}}}\n')
        text.flush()
        out.flush()
        if book is not None and xlsx_fh is not None:
            xlsx_fh.write(book.finish())
    finally:
        text.detach()
        out.detach()
        if book is not None:
            book.close()
    return counts
