"""Operator views: counts, the queue, an order's history, a file's outcome."""

from __future__ import annotations

from ledger_db import order, sent_feed, ship, take_in

from processors.ledger.queries import (
    file_done,
    files_to_report,
    order_history,
    queue,
    status_counts,
)
from processors.ledger.records import Outcome
from processors.ledger.store import Ledger


def test_status_counts_count_every_status(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2)), ship(4, order(2))])
    counts = status_counts(ledger)
    assert (counts.counts["in_queue"], counts.counts["duplicate"], counts.counts["error"]) == (
        2,
        1,
        0,
    )
    assert counts.total == 3 and counts.oldest_waiting is not None


def test_status_counts_show_feeds_in_flight_and_last_error(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    feed_id, (_, b) = sent_feed(ledger)
    assert status_counts(ledger).feeds_in_flight == 1
    ledger.complete_feed(
        feed_id, {b: Outcome("error", "18028", "bad tracking")}, others=Outcome("confirmed")
    )
    counts = status_counts(ledger)
    assert counts.feeds_in_flight == 0
    assert counts.last_error is not None and counts.last_error.message == "bad tracking"


def test_status_counts_filter_by_seller(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)], seller="acme")
    take_in(ledger, [ship(2, order(9))], seller="zeta")
    assert status_counts(ledger, seller="zeta").total == 1


def test_queue_shows_open_lines_with_total(ledger: Ledger) -> None:
    take_in(ledger, [ship(i + 2, order(i)) for i in range(5)])
    page = queue(ledger, limit=2)
    assert (len(page.rows), page.total) == (2, 5)
    assert page.rows[0].order_id == order(0) and page.rows[0].status == "in_queue"


def test_queue_filters_by_status(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(1))])
    assert [r.status for r in queue(ledger, status="duplicate").rows] == ["duplicate"]


def test_order_history_lists_every_status_change(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)], name="mon.csv")
    feed_id, (lid,) = sent_feed(ledger)
    ledger.complete_feed(feed_id, {lid: Outcome("error", "25", "bad")})
    ledger.resend(errors=True)
    (hist,) = order_history(ledger, order(1))
    assert hist.file_name == "mon.csv"
    assert [(e.from_status, e.to_status) for e in hist.events] == [
        ("in_queue", "submitted"),
        ("submitted", "error"),
        ("error", "in_queue"),
    ]


def test_file_is_done_when_every_line_ended(ledger: Ledger) -> None:
    rec = take_in(ledger, [ship(2)])
    assert not file_done(ledger, rec.id)
    feed_id, _ = sent_feed(ledger)
    assert not file_done(ledger, rec.id)
    ledger.complete_feed(feed_id, {}, others=Outcome("confirmed"))
    assert file_done(ledger, rec.id)


def test_files_to_report_until_reports_are_recorded(ledger: Ledger) -> None:
    rec = take_in(ledger, [ship(2)])
    ledger.cancel(order(1))
    assert [f.id for f in files_to_report(ledger)] == [rec.id]
    ledger.set_file_reports(rec.id, "out/result.csv", None)
    assert files_to_report(ledger) == [] and ledger.file(rec.id).status == "done"
