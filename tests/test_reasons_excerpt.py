"""A reason quotes at most a few hundred characters of the seller's input, however long the
cell or header it is about."""

from __future__ import annotations

import io

import pytest

from feeds.errors import FileRejected
from feeds.excerpt import EXCERPT_CHARS, excerpt
from ingest.readers import open_reader

LIMIT = EXCERPT_CHARS + 100  # the excerpt, its ellipsis note and the reason's own words


def rejection(text: str) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        open_reader(io.BytesIO(text.encode()), "a.csv")
    return caught.value


def test_excerpt_keeps_short_text_whole() -> None:
    assert excerpt("Order ID") == "Order ID"


def test_excerpt_cuts_long_text_saying_how_much_is_left() -> None:
    assert (
        excerpt("x" * 1000) == "x" * EXCERPT_CHARS + f"… ({1000 - EXCERPT_CHARS:,} more characters)"
    )


def test_missing_column_reason_quotes_a_huge_header_briefly() -> None:
    exc = rejection("Order ID," + "H" * 60_000 + "\n1,2\n")
    assert "no 'ship date' column; the header row has: 'Order ID'" in exc.reason
    assert len(exc.reason) < LIMIT


def test_two_columns_for_one_field_are_quoted_briefly() -> None:
    long = "Tracking" + " " * 5_000 + "Number"  # spaces do not count: the same column
    exc = rejection(f"Order ID,Ship Date,Tracking Number,{long}\n1,2,3,4\n")
    assert "both look like" in exc.reason
    assert len(exc.reason) < 2 * LIMIT
