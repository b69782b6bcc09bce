"""FileIntake.add_rows (compact rows, what intake uses) records exactly what add_lines
(Shipment objects) records: same verdicts, messages, ids, rejected lines and counts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ledger_db import BACKENDS, ledger_db_url
from sqlalchemy import select

import processors.ledger.fileintake as fileintake
from feeds.model import FIELDS, RowChunk
from feeds.rules import RuleContext, validate_chunk, validate_rows
from processors.ledger.fileintake import FileIntake
from processors.ledger.schema import files, lines, rejected_lines
from processors.ledger.store import Ledger

CTX = RuleContext(now=datetime(2026, 11, 20, 18, 0, tzinfo=UTC), timezone=UTC)
UPS_A, UPS_B = "1Z999AA10123456784", "1Z999AA10000000017"


def cells(order: int, item: str = "", tracking: str = UPS_A, date: str = "2026-11-19") -> dict:
    return {
        "order_id": f"111-{order:07d}-0000001",
        "order_item_id": item,
        "quantity": "1" if item else "",
        "ship_date": date,
        "carrier_code": "UPS",
        "tracking_number": tracking,
    }


# Monday's file: order 1 stays queued, order 2 gets confirmed elsewhere before Tuesday.
MONDAY = [cells(1), cells(2), cells(3, "12345678901234")]
# Tuesday's file, every kind of line:
TUESDAY = [
    cells(10),  # new
    cells(1),  # repeats a queued line of Monday: duplicate
    cells(2),  # repeats a confirmed line of Monday: duplicate pointing at it
    cells(2, tracking=UPS_B),  # other tracking for a confirmed order: conflict
    cells(1, tracking=UPS_B),  # second package of a queued order: accepted
    cells(11, date="31/31/2026"),  # rejected
    cells(10),  # repeats line 2 of this file: duplicate
    cells(12, "12345678901234"),  # new, with an item
    cells(12, "12345678901234"),  # its repeat
    cells(12, "12345678909999"),  # another item of the same order: new
    cells(10, tracking=UPS_B),  # second package of this file's order 10: accepted
    cells(13, tracking="1ZBAD"),  # a warning (tracking does not fit), still accepted
    cells(10),  # a third copy
    {"order_id": "nope"},  # rejected
]


def chunk_of(rows: list[dict[str, str]]) -> RowChunk:
    return RowChunk(
        lines=list(range(2, 2 + len(rows))),
        cells={f: [r.get(f, "") for r in rows] for f in FIELDS},
        columns={f: f for f in FIELDS},
    )


def take_in(ledger: Ledger, name: str, rows: list[dict[str, str]], compact: bool) -> None:
    chunk = chunk_of(rows)
    intake = ledger.begin_file(
        "acme", name, hashlib.sha256(name.encode()).hexdigest(), 100, received_at=CTX.now
    )
    assert isinstance(intake, FileIntake)
    with intake:
        if compact:
            r = validate_rows(chunk, CTX)
            intake.add_rows(r.lines, r.rows, r.errors)
        else:
            obj = validate_chunk(chunk, CTX)
            intake.add_lines(obj.shipments, obj.errors)
        intake.finish_file(len(rows))


def recorded(ledger: Ledger, compact: bool) -> dict[str, list[Any]]:
    take_in(ledger, "mon.csv", MONDAY, compact)
    with ledger.engine.begin() as conn:
        conn.execute(lines.update().where(lines.c.line_no == 3).values(status="confirmed"))
    take_in(ledger, "tue.csv", TUESDAY, compact)
    skip = {"status_changed_at", "updated_at"}  # the clock's, not the file's
    with ledger.engine.connect() as conn:
        return {
            t.name: [
                {k: v for k, v in row.items() if k not in skip}
                for row in conn.execute(select(t).order_by(t.c.id)).mappings()
            ]
            for t in (lines, rejected_lines, files)
        }


@pytest.mark.parametrize("chunk", [fileintake.CHUNK, 3], ids=["one-chunk", "small-chunks"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_record_what_shipments_record(
    backend: str, chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileintake, "CHUNK", chunk)  # small: repeats across chunks too
    got: dict[bool, dict[str, list[Any]]] = {}
    for compact in (False, True):
        (tmp_path / str(compact)).mkdir()
        with ledger_db_url(backend, tmp_path / str(compact)) as url:
            ledger = Ledger.open(url)
            try:
                got[compact] = recorded(ledger, compact)
            finally:
                ledger.close()
    assert got[True] == got[False]
    by_line = {r["line_no"]: r for r in got[True]["lines"] if r["file_id"] == 2}
    statuses = [by_line[n]["status"] if n in by_line else "rejected" for n in range(2, 16)]
    assert statuses == [
        "in_queue",
        "duplicate",
        "duplicate",
        "conflict",
        "in_queue",
        "rejected",
        "duplicate",
        "in_queue",
        "duplicate",
        "in_queue",
        "in_queue",
        "in_queue",
        "duplicate",
        "rejected",
    ]
    assert [by_line[n]["message"] for n in (4, 8)] == [
        "duplicate of line 3 of mon.csv, already confirmed; not sent again",
        "duplicate of line 2 of tue.csv, already in_queue; not sent again",
    ]
    where = {r["id"]: (r["file_id"], r["line_no"]) for r in got[True]["lines"]}
    pointed = [where[by_line[n]["duplicate_of"]] for n in (3, 4, 5, 8, 10, 14)]
    assert pointed == [(1, 2), (1, 3), (1, 3), (2, 2), (2, 9), (2, 2)]
    counts = [
        (f["accepted"], f["rejected"], f["duplicates"], f["conflicts"]) for f in got[True]["files"]
    ]
    assert counts == [(3, 0, 0, 0), (6, 2, 5, 1)]
