"""Rules for order ids, order item ids, quantities, required cells and unsafe cell text."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.model import FIELDS, RawLine, RowChunk
from feeds.rules import ChunkResult, RuleContext, validate_chunk, validate_line

CTX = RuleContext(now=datetime(2026, 11, 20, 18, 0, tzinfo=UTC), timezone=ZoneInfo("Europe/Berlin"))
HEADERS = {
    "order_id": "Order ID",
    "order_item_id": "Order Item",
    "quantity": "Qty",
    "ship_date": "Ship Date",
    "carrier_code": "Carrier",
    "carrier_name": "Carrier Name",
    "tracking_number": "Tracking #",
    "ship_method": "Method",
}
GOOD = {
    "order_id": "112-1234567-1234567",
    "order_item_id": "12345678901234",
    "quantity": "1",
    "ship_date": "2026-11-19",
    "carrier_code": "UPS",
    "tracking_number": "1Z999AA10123456784",
    "ship_method": "Ground",
}


def run(ctx: RuleContext = CTX, /, **cells: str) -> ChunkResult:
    row = {**GOOD, **cells}
    chunk = RowChunk(lines=[7], cells={f: [row.get(f, "")] for f in FIELDS}, columns=dict(HEADERS))
    return validate_chunk(chunk, ctx)


def test_a_complete_line_becomes_one_shipment_with_normalised_values() -> None:
    r = run()
    assert r.errors == [] and r.warnings == []
    (s,) = r.shipments
    assert (s.line, s.order_id, s.order_item_id, s.quantity) == (
        7,
        "112-1234567-1234567",
        "12345678901234",
        1,
    )
    assert (s.carrier_code, s.carrier_name, s.tracking_number, s.ship_method) == (
        "UPS",
        None,
        "1Z999AA10123456784",
        "Ground",
    )


@pytest.mark.parametrize("value", ["  112-1234567-1234567\t", "\xa0112-1234567-1234567\xa0"])
def test_order_id_surrounded_by_whitespace_is_trimmed(value: str) -> None:
    (s,) = run(order_id=value).shipments
    assert s.order_id == "112-1234567-1234567"


def test_order_id_in_non_ascii_digits_is_rejected() -> None:
    (e,) = run(order_id="١١٢-1234567-1234567").errors
    assert e.column == "Order ID"


@pytest.mark.parametrize(
    "value",
    [
        "112-123456-1234567",
        "1121234567123456",
        "ABC-1234567-1234567",
        "112-1234567-12345678",
        "112_1234567_1234567",
    ],
)
def test_order_id_with_wrong_digit_groups_is_rejected_naming_column_and_value(value: str) -> None:
    r = run(order_id=value)
    assert r.shipments == []
    (e,) = r.errors
    assert (e.line, e.column, e.value) == (7, "Order ID", value)
    assert "3-7-7" in e.reason


@pytest.mark.parametrize("field,header", [("order_id", "Order ID"), ("ship_date", "Ship Date")])
def test_missing_required_value_is_an_error_naming_the_column(field: str, header: str) -> None:
    r = run(**{field: ""})
    assert r.shipments == []
    (e,) = r.errors
    assert e.column == header and "missing" in e.reason


def test_error_names_the_canonical_field_when_the_file_has_no_such_column() -> None:
    chunk = RowChunk(
        lines=[3],
        cells={f: [""] for f in FIELDS} | {"order_id": ["bad"], "ship_date": ["2026-11-19"]},
        columns={f: None for f in FIELDS} | {"order_id": "AmazonOrderId"},
    )
    r = validate_chunk(chunk, CTX)
    assert [e.column for e in r.errors] == ["AmazonOrderId"]
    chunk.columns["order_id"] = None
    assert [e.column for e in validate_chunk(chunk, CTX).errors] == ["order_id"]


def test_line_without_order_item_id_confirms_the_whole_order() -> None:
    (s,) = run(order_item_id="", quantity="").shipments
    assert s.order_item_id is None and s.quantity is None


def test_order_item_id_with_spreadsheet_decimal_zero_is_read_as_digits() -> None:
    (s,) = run(order_item_id="12345678901234.0").shipments
    assert s.order_item_id == "12345678901234"


@pytest.mark.parametrize("value", ["1234567890123", "123456789012345", "ABCDEFGHIJKLMN", "12-34"])
def test_order_item_id_that_is_not_14_digits_is_rejected(value: str) -> None:
    (e,) = run(order_item_id=value).errors
    assert (e.column, e.value) == ("Order Item", value)
    assert "14-digit" in e.reason


def test_order_item_id_in_scientific_notation_tells_the_seller_to_format_as_text() -> None:
    (e,) = run(order_item_id="1.23457E+13").errors
    assert "as text" in e.reason


@pytest.mark.parametrize("value,expected", [("2", 2), ("2.0", 2), (" 3 ", 3), ("", None)])
def test_quantity_whole_numbers_are_accepted(value: str, expected: int | None) -> None:
    (s,) = run(quantity=value).shipments
    assert s.quantity == expected


@pytest.mark.parametrize("value", ["2.5", "0", "-1", "two", "+2", "1e3"])
def test_quantity_that_is_not_a_positive_whole_number_is_rejected(value: str) -> None:
    r = run(quantity=value)
    assert r.shipments == []
    (e,) = r.errors
    assert (e.column, e.value) == ("Qty", value)


def test_quantity_without_order_item_id_is_dropped_with_a_warning() -> None:
    r = run(order_item_id="", quantity="3")
    (s,) = r.shipments
    assert s.quantity is None
    (w,) = r.warnings
    assert w.column == "Qty" and "whole order" in w.reason


@pytest.mark.parametrize(
    "field,value",
    [
        ("order_id", '=HYPERLINK("http://x","112-1234567-1234567")'),
        ("carrier_code", "=cmd|' /C calc'!A0"),
        ("carrier_name", "+SUM(1,2)"),
        ("ship_method", "@SUM(A1)"),
        ("tracking_number", "-1Z999AA10123456784"),
        ("quantity", "+2"),
        ("ship_date", "=TODAY()"),
    ],
)
def test_formula_like_cells_are_never_accepted_and_are_reported_as_found(
    field: str, value: str
) -> None:
    r = run(**{field: value})
    assert r.shipments == []
    assert any(e.value == value and e.column == HEADERS[field] for e in r.errors)


@pytest.mark.parametrize("field", ["carrier_name", "ship_method"])
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x0b", "\x1b", "\x1c", "\ufffe", "\ud800"])
def test_text_with_characters_xml_cannot_hold_is_rejected(field: str, bad: str) -> None:
    value = f"Speedy{bad}Post"
    r = run(carrier_code="" if field == "carrier_name" else "UPS", **{field: value})
    assert r.shipments == []
    (e,) = r.errors
    assert e.column == HEADERS[field] and e.value == value and "control characters" in e.reason


def test_every_bad_cell_of_a_line_is_reported() -> None:
    r = run(order_id="nope", quantity="0", ship_date="someday")
    assert sorted(str(e.column) for e in r.errors) == ["Order ID", "Qty", "Ship Date"]


def test_rows_of_a_chunk_are_judged_independently() -> None:
    chunk = RowChunk(
        lines=[2, 3, 4],
        cells={f: [GOOD.get(f, "")] * 3 for f in FIELDS},
        columns=dict(HEADERS),
    )
    chunk.cells["order_id"][1] = "x"
    r = validate_chunk(chunk, CTX)
    assert [s.line for s in r.shipments] == [2, 4]
    assert [e.line for e in r.errors] == [3]


def test_validate_line_judges_a_raw_line_like_a_chunk_row() -> None:
    line = RawLine(line=9, cells={**GOOD, "quantity": "0"}, columns=HEADERS)
    shipment, errors, warnings = validate_line(line, CTX)
    assert shipment is None and [e.column for e in errors] == ["Qty"] and warnings == []
    shipment, errors, _ = validate_line(RawLine(line=9, cells=GOOD, columns=HEADERS), CTX)
    assert shipment is not None and shipment.line == 9 and errors == []
