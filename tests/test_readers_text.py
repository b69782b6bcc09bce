"""Reading delimited text files: encodings, delimiters, line endings, quoting, numbering."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.errors import FileRejected
from feeds.model import FIELDS
from ingest.readers import FileInfo, open_reader

HEADER = ["Order ID", "Ship Date", "Carrier", "Tracking #"]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read_all(path: Path, **kwargs: object) -> tuple[FileInfo, list[int], dict[str, list[str]]]:
    with open(path, "rb") as fh:
        reader = open_reader(fh, path.name, **kwargs)  # type: ignore[arg-type]
        lines: list[int] = []
        cells: dict[str, list[str]] = {f: [] for f in FIELDS}
        for chunk in reader.chunks():
            lines += chunk.lines
            for f in FIELDS:
                cells[f] += chunk.cells[f]
        return reader.info, lines, cells


def csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    return newline.join(delimiter.join(r) for r in [HEADER, *rows]) + newline


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
    ],
)
def test_unicode_encodings_are_detected_and_decoded(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    text = csv_text([["111-1234567-1234567", "2026-01-02", "Société Générale €", "1Z"]])
    info, _, cells = read_all(write(tmp_path, "a.csv", text, encoding))
    assert info.encoding == expected
    assert cells["carrier_code"] == ["Société Générale €"]
    assert info.headers[0] == "Order ID"  # no BOM left in the first header


def test_cp1252_is_chosen_when_euro_and_smart_quotes_are_present(tmp_path: Path) -> None:
    text = csv_text([["1", "2026-01-02", "“Müller” – 5€", "1Z"]])
    info, _, cells = read_all(write(tmp_path, "a.csv", text, "cp1252"))
    assert info.encoding == "cp1252"
    assert cells["carrier_code"] == ["“Müller” – 5€"]


def test_latin1_is_chosen_when_bytes_undefined_in_cp1252_appear(tmp_path: Path) -> None:
    text = csv_text([["1", "2026-01-02", "Zoé\x81", "1Z"]])
    info, _, cells = read_all(write(tmp_path, "a.csv", text, "latin-1"))
    assert info.encoding == "latin-1"
    assert cells["carrier_code"] == ["Zoé\x81"]


def test_plain_latin1_accents_decode_correctly(tmp_path: Path) -> None:
    text = csv_text([["1", "2026-01-02", "Société Générale", "1Z"]])
    info, _, cells = read_all(write(tmp_path, "a.csv", text, "latin-1"))
    assert info.encoding in ("latin-1", "cp1252")
    assert cells["carrier_code"] == ["Société Générale"]


def test_excel_unicode_text_export_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode text": UTF-16LE with BOM, tab-separated, CRLF."""
    text = csv_text([["1", "2026-01-02", "Deutsche Post", "RR123"]], "\t", "\r\n")
    path = tmp_path / "export.txt"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    info, lines, cells = read_all(path)
    assert (info.encoding, info.delimiter, info.kind) == ("utf-16", "\t", "tsv")
    assert cells["tracking_number"] == ["RR123"]
    assert lines == [2]


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = csv_text(
        [["1", "2026-01-02", "UPS", "1Z"], ["2", "2026-01-03", "USPS", "94"]], delimiter
    )
    info, _, cells = read_all(write(tmp_path, "a.csv", text))
    assert info.delimiter == delimiter
    assert cells["order_id"] == ["1", "2"]
    assert cells["carrier_code"] == ["UPS", "USPS"]


def test_crlf_line_endings_leave_no_carriage_return_in_cells(tmp_path: Path) -> None:
    text = csv_text(
        [["1", "2026-01-02", "UPS", "1Z"], ["2", "2026-01-03", "UPS", "1Y"]], ",", "\r\n"
    )
    _, lines, cells = read_all(write(tmp_path, "a.csv", text))
    assert cells["tracking_number"] == ["1Z", "1Y"]
    assert lines == [2, 3]


def test_quoted_fields_keep_embedded_delimiters_and_newlines(tmp_path: Path) -> None:
    text = (
        'Order ID,Ship Date,Ship Method\n1,2026-01-02,"Ground, residential"\n'
        '2,2026-01-02,"two\nlines"\n'
    )
    _, _, cells = read_all(write(tmp_path, "a.csv", text))
    assert cells["ship_method"] == ["Ground, residential", "two\nlines"]


def test_line_numbers_count_records_after_a_quoted_newline(tmp_path: Path) -> None:
    text = 'Order ID,Ship Date,Ship Method\n1,2026-01-02,"a\nb\nc"\n2,2026-01-02,x\n'
    _, lines, cells = read_all(write(tmp_path, "a.csv", text))
    assert cells["order_id"] == ["1", "2"]
    assert lines == [2, 3]  # Excel's row numbers, not the editor's physical lines 2 and 5


def test_blank_rows_are_counted_in_line_numbers_then_dropped(tmp_path: Path) -> None:
    text = "Order ID,Ship Date\n1,2026-01-02\n\n,\n2,2026-01-02\n\n\n,,\n"
    _, lines, cells = read_all(write(tmp_path, "a.csv", text))
    assert cells["order_id"] == ["1", "2"]
    assert lines == [2, 5]


def test_unknown_columns_are_listed_and_ignored(tmp_path: Path) -> None:
    text = "SKU,Order ID,Notes,Ship Date,\nABC,1,fragile,2026-01-02,\n"
    info, _, cells = read_all(write(tmp_path, "a.csv", text))
    assert info.unknown_columns == ["SKU", "Notes"]
    assert cells["order_id"] == ["1"]


def test_title_row_above_the_header_is_skipped_and_numbered(tmp_path: Path) -> None:
    text = "Shipments export 2026-01-02\n\nOrder ID,Ship Date\n1,2026-01-02\n"
    info, lines, _ = read_all(write(tmp_path, "a.csv", text))
    assert info.header_line == 3
    assert lines == [4]


def test_header_only_file_yields_no_rows(tmp_path: Path) -> None:
    info, lines, _ = read_all(write(tmp_path, "a.csv", "Order ID,Ship Date\r\n"))
    assert info.columns["order_id"] == "Order ID"
    assert lines == []


def test_empty_file_is_rejected_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="empty"):
        read_all(write(tmp_path, "a.csv", ""))


def test_missing_required_column_names_it_and_lists_found_headers(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as caught:
        read_all(write(tmp_path, "a.csv", "Order ID,Carrier,Tracking\n1,UPS,1Z\n"))
    message = str(caught.value)
    assert "ship date" in message
    assert "'Order ID', 'Carrier', 'Tracking'" in message


def test_rows_with_extra_cells_after_the_last_header_are_read(tmp_path: Path) -> None:
    text = "Order ID,Ship Date\n1,2026-01-02,extra,more\n2,2026-01-03\n"
    _, lines, cells = read_all(write(tmp_path, "a.csv", text))
    assert cells["order_id"] == ["1", "2"]
    assert lines == [2, 3]


def test_unclosed_quote_rejects_the_file(tmp_path: Path) -> None:
    text = 'Order ID,Ship Date\n1,2026-01-02\n"2,2026-01-02\n3,2026-01-02\n'
    with pytest.raises(FileRejected):
        read_all(write(tmp_path, "a.csv", text))


def test_chunks_are_bounded_and_cover_every_row(tmp_path: Path) -> None:
    rows = [[str(i), "2026-01-02", "UPS", "1Z"] for i in range(1, 1001)]
    path = write(tmp_path, "a.csv", csv_text(rows))
    with open(path, "rb") as fh:
        chunks = list(open_reader(fh, path.name, chunk_rows=64).chunks())
    assert max(len(c) for c in chunks) <= 64
    assert [line for c in chunks for line in c.lines] == list(range(2, 1002))
    assert all(set(c.cells) == set(FIELDS) for c in chunks)


def test_seller_column_map_is_applied(tmp_path: Path) -> None:
    text = "Ref,Sent,Colis\n1,2026-01-02,1Z\n"
    info, _, cells = read_all(
        write(tmp_path, "a.csv", text),
        column_map={"Ref": "order_id", "Sent": "ship_date", "Colis": "tracking_number"},
    )
    assert info.columns["order_id"] == "Ref"
    assert cells["tracking_number"] == ["1Z"]


def test_stream_is_left_open_after_reading_a_transcoded_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", csv_text([["1", "2026-01-02", "€", "1Z"]]), "cp1252")
    with open(path, "rb") as fh:
        list(open_reader(fh, path.name).chunks())
        assert not fh.closed


def test_row_wider_than_the_sampled_rows_far_down_the_file_is_read(tmp_path: Path) -> None:
    rows = [[str(i), "2026-01-02", "UPS", "1Z"] for i in range(1, 5001)]
    rows.append(["5001", "2026-01-02", "UPS", "1Z", "stray", "cells"])
    _, lines, cells = read_all(write(tmp_path, "a.csv", csv_text(rows)))
    assert cells["order_id"][-1] == "5001"
    assert lines[-1] == 5002
