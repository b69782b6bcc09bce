"""The column-wise path for clean chunks decides exactly what the row loop decides."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import pytest

import feeds.rules as rules
from feeds.model import FIELDS, RowChunk
from feeds.rules import ChunkRows, RuleContext, validate_rows

CTX = RuleContext(
    now=datetime(2026, 11, 20, 18, 0, tzinfo=UTC), timezone=ZoneInfo("America/New_York")
)
STRICT = RuleContext(now=CTX.now, timezone=CTX.timezone, strict_tracking=True)

# Cells a clean line may hold, per column (tracking numbers come with their carrier).
CLEAN_CARRIERS = [
    ("UPS", "", "1Z999AA10123456784"),
    ("ups", "", "1Z999AA10123456784"),
    ("USPS", "", "9400111899223197428490"),
    ("FedEx", "", "123456789012"),
    ("DHL", "", "1234567890"),
    ("Yodel", "", "JJD0000000001"),  # a code whose numbers are not checked
    ("", "Bob's Vans", "BOBVANS123"),
    ("Other", "Bob's Vans", "BOB123"),
    ("UPS", "", ""),
    ("", "", ""),
]
CLEAN_DATES = ["2026-11-19", "11/18/2026", "2026-11-18 14:30", "2026-11-19T10:00:00Z"]
# One odd cell per column, each meaning a warning or an error somewhere in the row loop.
ODD: dict[str, list[str]] = {
    "quantity": ["0", "x", " ", "1.5"],
    "ship_date": ["", "next tuesday", "2031-01-01", "2001-01-01"],
    "carrier_code": ["Pony Express", "=1+1", "Other"],
    "carrier_name": ["=cmd", "x" * 60, "\x0b"],
    "tracking_number": ["1Z999AA10123456785", "1ZBAD", "1Z999AA10123456784", "TBA123456789012"],
    "ship_method": ["  ", "=x", "y" * 60],
}


@pytest.fixture(autouse=True)
def fast_path_for_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks under rules._FAST_MIN lines take the row loop; these tests hold the column
    path to the row loop on small chunks, so they let it take them."""
    monkeypatch.setattr(rules, "_FAST_MIN", 0)


def chunk_of(rows: list[dict[str, str]]) -> RowChunk:
    return RowChunk(
        lines=list(range(2, 2 + len(rows))),
        cells={f: [r.get(f, "") for r in rows] for f in FIELDS},
        columns={f: f.upper() for f in FIELDS},
    )


def clean_rows(rng: random.Random, n: int) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        code, name, tracking = rng.choice(CLEAN_CARRIERS)
        item = rng.choice(["", f"{i:014d}"])
        rows.append(
            {
                "order_id": f"112-1234567-{i:07d}",
                "order_item_id": item,
                "quantity": rng.choice(["", "1", " 3 ", "2.0"]) if item else "",
                "ship_date": rng.choice(CLEAN_DATES),
                "carrier_code": code,
                "carrier_name": name,
                "tracking_number": tracking,
                "ship_method": rng.choice(["", "Ground", " Next  Day "]) if tracking else "",
            }
        )
    return rows


def both_ways(chunk: RowChunk, ctx: RuleContext, monkeypatch: pytest.MonkeyPatch) -> ChunkRows:
    rules._CACHES.clear()
    fast = validate_rows(chunk, ctx)
    with monkeypatch.context() as m:
        m.setattr(rules, "_fast_path", False)
        rules._CACHES.clear()
        slow = validate_rows(chunk, ctx)
    assert fast == slow
    return fast


def test_clean_chunks_take_the_column_path_and_match_the_row_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken = []
    real = rules._clean_chunk
    monkeypatch.setattr(
        rules,
        "_clean_chunk",
        lambda *a: taken.append(r := real(*a)) or r,  # type: ignore[func-returns-value]
    )
    rng = random.Random(1)
    for n in (1, 2, 50, 400):
        for _ in range(5):
            result = both_ways(chunk_of(clean_rows(rng, n)), CTX, monkeypatch)
            assert len(result.rows) == n and not result.errors and not result.warnings
    assert taken and all(r is not None for r in taken)


@pytest.mark.parametrize("ctx", [CTX, STRICT], ids=["lenient", "strict"])
@pytest.mark.parametrize("column", sorted(ODD))
def test_one_odd_cell_anywhere_gives_what_the_row_loop_gives(
    column: str, ctx: RuleContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(column)
    for value in ODD[column]:
        for _ in range(4):
            rows = clean_rows(rng, 60)
            victim = rng.choice(rows)
            victim[column] = value
            if column == "quantity":
                victim["order_item_id"] = victim["order_item_id"] or "12345678901234"
            result = both_ways(chunk_of(rows), ctx, monkeypatch)
            assert result.errors or result.warnings or len(result.rows) == 60


def test_quantity_without_item_and_method_without_tracking_are_not_taken_as_clean(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(2)
    rows = clean_rows(rng, 30)
    rows[7].update(order_item_id="", quantity="2")
    assert both_ways(chunk_of(rows), CTX, monkeypatch).warnings
    rows = clean_rows(rng, 30)
    rows[9].update(carrier_code="UPS", tracking_number="", ship_method="Ground")
    assert both_ways(chunk_of(rows), CTX, monkeypatch).warnings
    rows = clean_rows(rng, 30)
    rows[3].update(carrier_code="", carrier_name="", tracking_number="1Z999AA10123456784")
    assert both_ways(chunk_of(rows), CTX, monkeypatch).warnings


@pytest.mark.parametrize("order", ["US", "EU"])
def test_slash_dates_read_either_way_round_match_the_row_loop(
    order: Literal["US", "EU"], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a file's date order (feeds/dateorder.py) hands validation: the same chunk read
    # day-first or month-first; under US the day-first dates are errors, worded by the loop.
    ctx = RuleContext(now=CTX.now, timezone=CTX.timezone, date_order=order)
    rng = random.Random(order)
    rows = clean_rows(rng, 200)
    for r in rows:
        r["ship_date"] = rng.choice(["03/11/2026", "19/11/2026 08:15", "2026-11-19", "4.11.26"])
    result = both_ways(chunk_of(rows), ctx, monkeypatch)
    assert bool(result.errors) == (order == "US")


def test_a_small_chunk_takes_the_row_loop_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate` of a few lines never pays for loading numpy (rules._FAST_MIN)."""
    monkeypatch.setattr(rules, "_FAST_MIN", 256)
    taken: list[object] = []
    real = rules._clean_chunk
    monkeypatch.setattr(
        rules,
        "_clean_chunk",
        lambda *a: taken.append(1) or real(*a),  # type: ignore[func-returns-value]
    )
    rng = random.Random(3)
    small = both_ways(chunk_of(clean_rows(rng, 255)), CTX, monkeypatch)
    assert len(small.rows) == 255 and not taken
    big = both_ways(chunk_of(clean_rows(rng, 256)), CTX, monkeypatch)
    assert len(big.rows) == 256 and taken
