"""Text files that are not what they claim are rejected saying what is wrong with them."""

from __future__ import annotations

import io

import pytest

from feeds.errors import FileRejected
from ingest.readers import open_reader

HEADER = "Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number\r\n"
LINE = "111-0000001-0000001,00000000000001,1,2026-11-26,UPS,1Z999AA10123456784\r\n"


def reason(data: bytes) -> str:
    with pytest.raises(FileRejected) as caught:
        list(open_reader(io.BytesIO(data), "a.csv").chunks())
    return caught.value.reason


def test_a_few_nul_bytes_in_text_reject_the_file_naming_them() -> None:
    text = reason((HEADER + LINE.replace("UPS", "U\x00PS") + LINE).encode())
    assert text.startswith("the file contains 1 NUL (zero) bytes")


def test_utf16_without_a_mark_is_still_read() -> None:
    data = (HEADER + LINE).encode("utf-16-le")
    chunks = list(open_reader(io.BytesIO(data), "a.csv").chunks())
    assert chunks[0].cells["carrier_code"] == ["UPS"]


def test_header_longer_than_the_sample_is_rejected_as_such() -> None:
    wide = "Order ID,Tracking Number," + ",".join(f"c{i}" for i in range(15_000))
    assert "header row is longer than 64 KiB" in reason((wide + "\r\n" + LINE).encode())


def test_first_line_wider_than_every_sampled_line_is_rejected_not_raised() -> None:
    wide_line = LINE.rstrip() + "," + ",".join("v" for _ in range(40_000)) + "\r\n"
    text = reason((HEADER + wide_line + LINE).encode())
    assert "the first line has more cells than the header names" in text
