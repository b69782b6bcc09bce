"""The result report mirrors the seller's own file, row for row.

A real world (lifecycle_support): files dropped into a real inbox folder, taken in, sent
to the simulator over HTTP and tracked, on SQLite and PostgreSQL ledgers; the report is
then written by the ReportWriter, which reads the archived original again.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from lifecycle_support import UPS, World

from processors.reports import ADDED_COLUMNS, LEDGER_COLUMNS
from processors.results import (
    NOTE_CHANGED,
    NOTE_PURGED,
    ArchiveSource,
    ReportWriter,
    UnmatchedLine,
    mirror_rows,
)

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
I1, I2, I3 = "10000000000001", "10000000000002", "10000000000003"
DAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
#: A seller's own layout: their column names and order, with columns shipfeed ignores.
HEADER = "Order #,SKU,Order Item ID,Qty,Ship Date,Carrier,Tracking,Notes"


def line(order: str, item: str, sku: str = "MUG-1", notes: str = "", tracking: str = UPS) -> str:
    return f"{order},{sku},{item},1,{DAY},UPS,{tracking},{notes}"


def write_reports(w: World) -> list[str]:
    writer = ReportWriter(
        w.ledger,
        {"acme": w.outbox},
        simulated=True,
        sources={"acme": ArchiveSource(w.inbox, w.seller)},
    )
    return writer.write_finished()


def settled(w: World, name: str, rows: list[str], header: str = HEADER) -> None:
    """Drop a file, take it in, send and track it to the end, write its reports."""
    w.drop(name, rows, header=header)
    w.intake()
    w.until_settled()
    assert write_reports(w) == [f"{name}.result.csv"]


def csv_rows(w: World, name: str) -> list[list[str]]:
    data = (w.outbox_dir / f"{name}.result.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def table(w: World, name: str) -> list[list[str]]:
    """The CSV's table: from its header row (after the first blank row) to the end."""
    rows = csv_rows(w, name)
    return rows[rows.index([]) + 1 :]


def json_report(w: World, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((w.outbox_dir / f"{name}.result.json").read_text("utf-8"))
    return data


def three_orders(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.order(O3, [(I3, 1)])


# -- the seller's columns ----------------------------------------------------------------


def test_the_table_starts_with_the_sellers_headers_then_the_added_columns(world: World) -> None:
    three_orders(world)
    settled(world, "f.csv", [line(O1, I1)])
    assert table(world, "f.csv")[0] == [*HEADER.split(","), *ADDED_COLUMNS]
    assert json_report(world, "f.csv")["columns"] == HEADER.split(",")


def test_every_original_row_in_order_with_its_own_cells_rejected_ones_included(
    world: World,
) -> None:
    three_orders(world)
    rows = [
        line(O1, I1, notes="gift"),
        line("not-an-order", "", sku="MUG-9", notes="typo in order"),
        line(O2, I2, sku="CUP-2"),
        line(O2, I2, sku="CUP-2", notes="sent twice"),
        line(O3, I3),
    ]
    settled(world, "f.csv", rows)
    body = table(world, "f.csv")[1:]
    assert [r[: len(HEADER.split(","))] for r in body] == [r.split(",") for r in rows]
    assert [(r[-1], r[-5]) for r in body] == [
        ("2", "confirmed"),
        ("3", "rejected"),
        ("4", "confirmed"),
        ("5", "duplicate"),
        ("6", "confirmed"),
    ]
    rejected = json_report(world, "f.csv")["rows"][1]
    assert rejected["cells"] == dict(zip(HEADER.split(","), rows[1].split(","), strict=True))
    assert rejected["status"] == "rejected" and "order" in rejected["message"].lower()
    assert rejected["what_to_do"]


def test_json_rows_carry_line_cells_status_code_message_and_advice(world: World) -> None:
    three_orders(world)
    settled(world, "f.csv", [line(O1, I1, notes="gift")])
    report = json_report(world, "f.csv")
    (row,) = report["rows"]
    assert set(row) == {"line", "cells", "status", "amazon_result_code", "message", "what_to_do"}
    assert row["line"] == 2 and row["cells"]["Notes"] == "gift"
    assert row["status"] == "confirmed" and row["what_to_do"].startswith("nothing")
    assert report["counts"] == {"confirmed": 1} and report["note"] is None


def test_amazon_rejection_shows_its_result_code_beside_the_original_cells(world: World) -> None:
    world.order(O1, [(I1, 1)])
    world.order(O2, [(I3, 1)])  # the line names I2, not in O2: Amazon rejects it (18029)
    settled(world, "f.csv", [line(O1, I1), line(O2, I2, sku="CUP-2")])
    rejected = json_report(world, "f.csv")["rows"][1]
    assert rejected["cells"]["SKU"] == "CUP-2"
    assert rejected["status"] in ("error", "needs_attention")
    assert rejected["amazon_result_code"] and rejected["message"]


def test_blank_rows_are_left_out_and_line_numbers_stay_those_of_the_file(world: World) -> None:
    three_orders(world)
    settled(world, "f.csv", [line(O1, I1), ",,,,,,,", "", line(O2, I2)])
    assert [r["line"] for r in json_report(world, "f.csv")["rows"]] == [2, 5]


# -- formats -----------------------------------------------------------------------------


def test_a_cell_that_looks_like_a_formula_is_made_safe_in_the_csv_only(world: World) -> None:
    three_orders(world)
    formula = '=HYPERLINK("http://evil.example","click")'
    settled(
        world,
        "f.csv",
        [line(O1, I1, sku="-MUG", notes=f'"{formula.replace(chr(34), 2 * chr(34))}"')],
    )
    csv_row = table(world, "f.csv")[1]
    assert csv_row[1] == "'-MUG" and csv_row[7] == "'" + formula
    cells = json_report(world, "f.csv")["rows"][0]["cells"]
    assert (cells["SKU"], cells["Notes"]) == ("-MUG", formula)


def test_xlsx_input_is_mirrored_with_its_cells_as_the_seller_sees_them(world: World) -> None:
    three_orders(world)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Shipped"
    ws.append(["Amazon Order #", "Order Item ID", "Quantity Shipped", "Ship Date", "Carrier",
               "Tracking", "Packed by"])  # fmt: skip
    ship = date.today() - timedelta(days=1)
    ws.append([O1, I1, 1, ship, "UPS", UPS, "Ann"])
    ws.append(["bad", None, 1, ship, "UPS", UPS, "Bob"])
    wb.save(world.inbox_dir / "f.xlsx")
    world.intake()
    world.until_settled()
    assert write_reports(world) == ["f.xlsx.result.csv"]
    report = json_report(world, "f.xlsx")
    assert report["columns"][-1] == "Packed by"
    assert [(r["line"], r["cells"]["Packed by"], r["status"]) for r in report["rows"]] == [
        (2, "Ann", "confirmed"),
        (3, "Bob", "rejected"),
    ]
    assert report["rows"][0]["cells"]["Quantity Shipped"] == "1"
    assert table(world, "f.xlsx")[2][:2] == ["bad", ""]


def test_a_cp1252_semicolon_file_is_read_again_with_its_encoding_and_delimiter(
    world: World,
) -> None:
    three_orders(world)
    header = "Order ID;Order Item ID;Ship Date;Carrier;Tracking Number;Kunde"
    text = f"{header}\r\n{O1};{I1};{DAY};UPS;{UPS};Müller & Söhne\r\n"
    (world.inbox_dir / "f.csv").write_bytes(text.encode("cp1252"))
    world.intake()
    world.until_settled()
    write_reports(world)
    assert json_report(world, "f.csv")["rows"][0]["cells"]["Kunde"] == "Müller & Söhne"
    assert table(world, "f.csv")[1][5] == "Müller & Söhne"


# -- when the original cannot be mirrored -------------------------------------------------


def test_a_purged_archive_falls_back_to_the_ledgers_fields_with_a_note(world: World) -> None:
    three_orders(world)
    world.drop("f.csv", [line(O1, I1), line("not-an-order", "")], header=HEADER)
    world.intake()
    world.until_settled()
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert world.inbox.purge_archive(0, today=tomorrow) == 1  # type: ignore[call-arg]
    write_reports(world)
    rows = csv_rows(world, "f.csv")
    assert ["Note", NOTE_PURGED] in rows[: rows.index([])]
    assert table(world, "f.csv")[0] == [*LEDGER_COLUMNS, *ADDED_COLUMNS]
    report = json_report(world, "f.csv")
    assert report["note"] == NOTE_PURGED
    assert [(r["line"], r["cells"]["order_id"], r["status"]) for r in report["rows"]] == [
        (2, O1, "confirmed"),
        (3, "", "rejected"),  # never stored as an order: the message says what was wrong
    ]
    assert "not-an-order" in report["rows"][1]["message"]


def test_an_archived_copy_changed_since_intake_is_not_mirrored(world: World) -> None:
    three_orders(world)
    world.drop("f.csv", [line(O1, I1)], header=HEADER)
    world.intake()
    world.until_settled()
    (archived,) = [p for p in world.inbox.archive_dir.rglob("*f.csv")]  # type: ignore[attr-defined]
    archived.write_bytes(archived.read_bytes() + b"111-0000009-0000001,X,1,1,2020-01-01,UPS,x,\n")
    write_reports(world)
    report = json_report(world, "f.csv")
    assert report["note"] == NOTE_CHANGED and report["columns"] == list(LEDGER_COLUMNS)
    assert [r["status"] for r in report["rows"]] == ["confirmed"]


def test_a_report_is_written_once_even_when_it_falls_back(world: World) -> None:
    three_orders(world)
    world.drop("f.csv", [line(O1, I1)], header=HEADER)
    world.intake()
    world.until_settled()
    for p in world.inbox.archive_dir.rglob("*f.csv"):  # type: ignore[attr-defined]
        os.unlink(p)
    assert write_reports(world) == ["f.csv.result.csv"]
    assert write_reports(world) == []


# -- the merge itself ---------------------------------------------------------------------


class _Outcome:
    def __init__(self, line: int) -> None:
        self.line = line


def test_merge_refuses_a_file_line_the_ledger_does_not_know() -> None:
    rows = [(2, ["a"]), (3, ["b"]), (4, ["c"])]
    with pytest.raises(UnmatchedLine, match="line 3 of the file"):
        list(mirror_rows(rows, [_Outcome(2), _Outcome(4)]))  # type: ignore[list-item]


def test_merge_refuses_a_ledger_line_missing_from_the_file() -> None:
    with pytest.raises(UnmatchedLine, match="line 5 is in the ledger"):
        list(mirror_rows([(2, ["a"])], [_Outcome(2), _Outcome(5)]))  # type: ignore[list-item]


def test_merge_repeats_a_row_for_each_of_its_outcomes() -> None:
    got = list(mirror_rows([(2, ["a"]), (3, ["b"])], [_Outcome(2), _Outcome(2), _Outcome(3)]))  # type: ignore[list-item]
    assert [(cells, o.line) for cells, o in got] == [(["a"], 2), (["a"], 2), (["b"], 3)]
