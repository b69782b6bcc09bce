"""The intake's bulk inserts (COPY on PostgreSQL, the sqlite3 cursor on SQLite, times
preformatted as text) record exactly what SQLAlchemy's own insert() records: the same
rows, byte for byte as read back, and the same running totals (tally.py).

Held both ways on every backend, with the values COPY's text format must escape (tabs,
line breaks, backslashes, quotes), times with microseconds and another offset than UTC,
repeats within a chunk and across chunks, and a file seen before."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ledger_db import BACKENDS, ledger_db_url
from sqlalchemy import func, select

import processors.ledger.fileintake as fileintake
from feeds.model import LineError
from feeds.packages import Row
from processors.ledger import tally
from processors.ledger.fileintake import FileIntake
from processors.ledger.schema import files, line_counts, lines, rejected_lines
from processors.ledger.store import Ledger

NOW = datetime(2026, 11, 20, 18, 0, 1, 234567, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))
ODD = ["tab\there", "line\nbreak", "back\\slash", 'quote"d', "\\N", "{brace}", "comma,", "ü €"]


def rows_of(day: int, n: int, offset: int) -> list[Row]:
    """``n`` lines, every third one repeating an earlier one, odd text in the free fields."""
    out: list[Row] = []
    for i in range(n):
        if i % 3 == 2:
            out.append(out[i - 2])  # a repeat: duplicate of a line of this file
            continue
        k = i + offset
        out.append(
            Row(
                order_id=f"111-{k:07d}-0000001",
                carrier_code="UPS" if k % 2 else None,
                carrier_name=ODD[k // 2 % len(ODD)] if k % 2 == 0 else None,
                tracking_number=f"1Z{k:016d}" if k % 5 else None,
                ship_method=ODD[(k + 3) % len(ODD)] if k % 4 else None,
                ship_date=datetime(2026, 11, day, 9, k % 60, k % 60, k * 7 % 1_000_000, EAST),
                order_item_id=f"{k:014d}" if k % 2 else None,
                quantity=(k % 3) + 1 if k % 2 else None,
            )
        )
    return out


def take_in(ledger: Ledger, name: str, rows: list[Row], rejected: list[LineError]) -> None:
    intake = ledger.begin_file(
        "acme", name, hashlib.sha256(name.encode()).hexdigest(), 100, received_at=NOW
    )
    assert isinstance(intake, FileIntake)
    with intake:
        nos = list(range(2, 2 + len(rows)))
        intake.add_rows(nos, rows, rejected)
        intake.finish_file(len(rows) + len({e.line for e in rejected}))


def recorded(ledger: Ledger) -> dict[str, Any]:
    first = rows_of(19, 40, 0)
    take_in(ledger, "mon.csv", first, [])
    # Tuesday repeats half of Monday (duplicates of another file), and has its own.
    second = first[10:30] + rows_of(20, 30, 100)
    errors = [LineError(len(second) + 2, "ship_date", "31/31/2026", "not a date\twith a tab")]
    take_in(ledger, "tue.csv", second, errors)
    with ledger.engine.connect() as conn:
        got: dict[str, Any] = {
            t.name: [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]
            for t in (lines, rejected_lines, files)
        }
        got["totals"] = tally.current(conn)
        got["count_rows"] = conn.execute(select(func.count()).select_from(line_counts)).scalar()
    return got


@pytest.mark.parametrize("chunk", [fileintake.CHUNK, 7], ids=["one-chunk", "small-chunks"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_bulk_insert_records_what_sqlalchemy_records(
    backend: str, chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileintake, "CHUNK", chunk)
    got: dict[bool, dict[str, Any]] = {}
    for fast in (True, False):
        monkeypatch.setattr(fileintake, "FAST_INSERT", fast)
        (tmp_path / str(fast)).mkdir()
        with ledger_db_url(backend, tmp_path / str(fast)) as url:
            ledger = Ledger.open(url, clock=lambda: NOW)
            try:
                got[fast] = recorded(ledger)
            finally:
                ledger.close()
    assert got[True] == got[False]
    # and the comparison compared something: every kind of line, every odd value
    mine = got[True]["lines"]
    assert {r["status"] for r in mine} == {"in_queue", "duplicate"}
    assert {r["carrier_name"] for r in mine} >= set(ODD)
    assert all(r["ship_date"].tzinfo is not None for r in mine)
    assert {r["ship_date"].microsecond for r in mine} - {0}
    assert got[True]["rejected_lines"][0]["reason"] == "not a date\twith a tab"
    assert got[True]["totals"]["acme"]["in_queue"] == sum(r["status"] == "in_queue" for r in mine)
