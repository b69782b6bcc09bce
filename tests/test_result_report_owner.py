"""Several workers on one ledger: a seller's result reports and status note are written
by the worker holding that seller's inbox lease, not by every worker; a worker that
takes a seller over writes what the old holder left unwritten.

The chaos test (tests/test_chaos.py) counted 370-803 report writes for 300 files with
three workers: the same reports uploaded again by each."""

from __future__ import annotations

import json
from pathlib import Path

from ledger_db import order, sent_feed, ship, take_in
from lifecycle_support import FakeClock

from ingest.factory import open_outbox
from processors.ledger.store import Ledger
from processors.results import ReportWriter


def _writer(ledger: Ledger, tmp_path: Path, held: set[str], name: str) -> ReportWriter:
    outboxes = {s: open_outbox(str(tmp_path / name / s)) for s in ("a", "b")}
    return ReportWriter(ledger, outboxes, simulated=True, owns=lambda s: s in held)


def _finished_in_error(ledger: Ledger, seller: str, n: int) -> list[int]:
    take_in(ledger, [ship(2, order(n))], name=f"{seller}.csv", seller=seller)
    feed_id, ids = sent_feed(ledger, seller)
    ledger.complete_feed(feed_id, {}, others=("error", "25", "bad tracking"))
    return ids


def _report_rows(path: Path) -> list[str]:
    return [r["status"] for r in json.loads(path.read_text())["rows"]]


def test_a_worker_writes_the_reports_and_notes_of_its_own_sellers_only(
    ledger: Ledger, tmp_path: Path
) -> None:
    writer = _writer(ledger, tmp_path, {"a"}, "w1")
    _finished_in_error(ledger, "a", 1)
    _finished_in_error(ledger, "b", 2)
    written = writer.write_finished()
    writer.write_status_notes()
    assert written == ["a.csv.result.csv"]
    assert sorted(p.name for p in (tmp_path / "w1" / "b").iterdir()) == []
    assert (tmp_path / "w1" / "a" / "status.json").exists()


def test_a_seller_taken_over_gets_the_report_its_old_holder_left_unwritten(
    ledger_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    with Ledger.open(ledger_url, clock=clock) as ledger:
        old_holder = _writer(ledger, tmp_path, {"b"}, "old")
        held: set[str] = {"a"}
        new_holder = _writer(ledger, tmp_path, held, "new")
        (line,) = _finished_in_error(ledger, "b", 2)
        old_holder.write_finished()
        new_holder.write_finished()
        clock.advance(1)
        ledger.resend(line_ids=[line], force=True)  # the old holder dies before rewriting
        clock.advance(120)
        new_holder.write_finished()  # not its seller yet: it looks past the change
        assert not (tmp_path / "new" / "b" / "b.csv.result.json").exists()
        clock.advance(10)
        held.add("b")  # the old lease expired; the new holder takes the seller over
        assert new_holder.write_finished() == ["b.csv.result.csv"]
    assert _report_rows(tmp_path / "new" / "b" / "b.csv.result.json") != _report_rows(
        tmp_path / "old" / "b" / "b.csv.result.json"
    )
