"""Intake: every input line ends as queued, duplicate, conflict or rejected."""

from __future__ import annotations

import pytest
from ledger_db import order, ship, status_of, take_in

from feeds.model import LineError
from processors.ledger.corrections import request_correction
from processors.ledger.errors import UnaccountedLines
from processors.ledger.queries import file_lines
from processors.ledger.records import DuplicateFile, FileRecord
from processors.ledger.store import Ledger


def test_accepted_lines_are_queued(ledger: Ledger) -> None:
    rec = take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    assert (rec.accepted, rec.lines, rec.status) == (2, 2, "queued")
    assert [ln.status for ln in ledger.queued_lines("acme", 10)] == ["in_queue", "in_queue"]


def test_rejected_lines_are_kept_with_column_value_and_reason(ledger: Ledger) -> None:
    err = LineError(3, "Ship Date", "31/31/2026", "not a date")
    rec = take_in(ledger, [ship(2)], [err])
    assert rec.rejected == 1
    assert file_lines(ledger, rec.id)[1].errors == [err]


def test_same_content_again_returns_the_earlier_file(ledger: Ledger) -> None:
    first = ledger.record_file("acme", "a.csv", "1" * 64, 10, 1, [ship(2)], [])
    again = ledger.record_file("acme", "b.csv", "1" * 64, 10, 1, [ship(2)], [])
    assert isinstance(first, FileRecord)
    assert again == DuplicateFile(earlier=first, name="b.csv")


def test_same_content_from_another_seller_is_a_new_file(ledger: Ledger) -> None:
    ledger.record_file("acme", "a.csv", "1" * 64, 10, 1, [ship(2)], [])
    other = ledger.record_file("zeta", "a.csv", "1" * 64, 10, 1, [ship(2)], [])
    assert isinstance(other, FileRecord)


def test_line_already_queued_in_another_file_is_a_duplicate(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)], name="mon.csv")
    rec = take_in(ledger, [ship(7)], name="tue.csv")
    assert (rec.accepted, rec.duplicates) == (0, 1)
    line = file_lines(ledger, rec.id)[0]
    assert line.outcome == "duplicate"
    assert line.message == "duplicate of line 2 of mon.csv, already in_queue; not sent again"


def test_repeated_line_within_one_file_is_a_duplicate(ledger: Ledger) -> None:
    rec = take_in(ledger, [ship(2), ship(3)])
    outcomes = [(f.line, f.outcome) for f in file_lines(ledger, rec.id)]
    assert outcomes == [(2, "in_queue"), (3, "duplicate")]


def test_duplicate_points_at_the_line_it_repeats(ledger: Ledger) -> None:
    first = take_in(ledger, [ship(2)], name="a.csv")
    rec = take_in(ledger, [ship(5)], name="b.csv")
    original = file_lines(ledger, first.id)[0].line_id
    dup = file_lines(ledger, rec.id)[0].line_id
    assert dup is not None
    assert ledger.lines([dup])[0].duplicate_of == original


def test_second_package_of_a_queued_order_is_accepted(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, tracking="1ZAAA")], name="a.csv")
    rec = take_in(ledger, [ship(2, tracking="1ZBBB")], name="b.csv")
    assert rec.accepted == 1


def test_confirmed_order_with_other_tracking_is_a_conflict(ledger: Ledger) -> None:
    first = take_in(ledger, [ship(2, tracking="1ZAAA")], name="a.csv")
    ledger.mark_confirmed_elsewhere([file_lines(ledger, first.id)[0].line_id or 0], "shipped")
    rec = take_in(ledger, [ship(2, tracking="1ZBBB")], name="b.csv")
    assert (rec.accepted, rec.conflicts) == (0, 1)
    assert "already confirmed with tracking 1ZAAA" in (file_lines(ledger, rec.id)[0].message or "")


def test_conflict_sent_as_a_correction_goes_to_the_queue(ledger: Ledger) -> None:
    first = take_in(ledger, [ship(2, tracking="1ZAAA")], name="a.csv")
    ledger.mark_confirmed_elsewhere([file_lines(ledger, first.id)[0].line_id or 0], "shipped")
    rec = take_in(ledger, [ship(2, tracking="1ZBBB")], name="b.csv")
    conflict = file_lines(ledger, rec.id)[0].line_id or 0
    request_correction(ledger, line_id=conflict)
    assert status_of(ledger, conflict) == "in_queue"


def test_confirmed_line_uploaded_again_is_a_duplicate_not_resent(ledger: Ledger) -> None:
    first = take_in(ledger, [ship(2)], name="a.csv")
    ledger.mark_confirmed_elsewhere([file_lines(ledger, first.id)[0].line_id or 0], "shipped")
    rec = take_in(ledger, [ship(2)], name="b.csv")
    assert rec.duplicates == 1
    assert ledger.queued_lines("acme", 10) == []


def test_line_in_error_does_not_block_a_corrected_upload(ledger: Ledger) -> None:
    first = take_in(ledger, [ship(2)], name="a.csv")
    ledger.mark_error([file_lines(ledger, first.id)[0].line_id or 0], "18028", "bad tracking")
    rec = take_in(ledger, [ship(2)], name="b.csv")
    assert rec.accepted == 1


def test_unaccounted_lines_record_nothing(ledger: Ledger) -> None:
    with pytest.raises(UnaccountedLines, match="3 lines read but 2 recorded"):
        ledger.record_file("acme", "a.csv", "2" * 64, 10, 3, [ship(2), ship(3, order(2))], [])
    assert ledger._file_by_sha("acme", "2" * 64) is None
    assert ledger.queued_lines("acme", 10) == []


def test_streamed_intake_commits_all_chunks_at_once(ledger: Ledger) -> None:
    intake = ledger.begin_file("acme", "big.csv", "3" * 64, 10)
    assert not isinstance(intake, DuplicateFile)
    intake.add_lines([ship(2, order(1))])
    intake.add_lines([ship(3, order(2))], [LineError(4, None, "", "empty")])
    assert ledger.queued_lines("acme", 10) == []  # nothing visible before the commit
    rec = intake.finish_file(3)
    assert (rec.accepted, rec.rejected, rec.lines) == (2, 1, 3)
    assert len(ledger.queued_lines("acme", 10)) == 2


def test_aborted_intake_leaves_nothing(ledger: Ledger) -> None:
    intake = ledger.begin_file("acme", "big.csv", "4" * 64, 10)
    assert not isinstance(intake, DuplicateFile)
    intake.add_lines([ship(2)])
    intake.abort()
    assert ledger._file_by_sha("acme", "4" * 64) is None


def test_duplicates_across_chunks_of_one_file_are_found(ledger: Ledger) -> None:
    intake = ledger.begin_file("acme", "big.csv", "5" * 64, 10)
    assert not isinstance(intake, DuplicateFile)
    intake.add_lines([ship(2)])
    intake.add_lines([ship(3)])
    assert intake.finish_file(2).duplicates == 1


def test_file_lines_mirror_the_input_row_for_row(ledger: Ledger) -> None:
    rec = take_in(
        ledger,
        [ship(2, order(1)), ship(4, order(2)), ship(5, order(1))],
        [LineError(3, "Order", "x", "not an order number")],
    )
    assert [(f.line, f.outcome) for f in file_lines(ledger, rec.id)] == [
        (2, "in_queue"),
        (3, "rejected"),
        (4, "in_queue"),
        (5, "duplicate"),
    ]
