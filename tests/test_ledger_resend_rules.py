"""Resending only what a resend can fix: content rejections and replaced lines stay put."""

from __future__ import annotations

from ledger_db import order, sent_feed, ship, status_of, take_in

from processors.ledger.records import Outcome
from processors.ledger.store import Ledger

BAD_TRACKING = Outcome("error", "18339", "the tracking number does not match the carrier")


def rejected_line(ledger: Ledger, outcome: Outcome, item: str | None = None) -> int:
    take_in(ledger, [ship(2, order(1), item=item)], name="first.csv")
    feed_id, (lid,) = sent_feed(ledger)
    ledger.complete_feed(feed_id, {lid: outcome})
    return lid


def test_resend_errors_skips_a_line_rejected_for_its_tracking_format(ledger: Ledger) -> None:
    lid = rejected_line(ledger, BAD_TRACKING)
    result = ledger.resend(errors=True)
    assert result.requeued == [] and status_of(ledger, lid) == "error"
    assert "Amazon rejected its content (18339" in result.skipped[lid]


def test_resend_errors_skips_an_order_amazon_does_not_know(ledger: Ledger) -> None:
    lid = rejected_line(ledger, Outcome("error", "18028", "unknown order"))
    assert "would be refused again" in ledger.resend(errors=True).skipped[lid]


def test_forced_resend_sends_a_content_rejection_as_it_is(ledger: Ledger) -> None:
    lid = rejected_line(ledger, BAD_TRACKING)
    assert ledger.resend(errors=True, force=True).requeued == [lid]


def test_resend_errors_still_requeues_a_line_whose_feed_failed(ledger: Ledger) -> None:
    lid = rejected_line(ledger, Outcome("error", "5001", "could not parse"))
    assert ledger.resend(errors=True).requeued == [lid]


def test_line_replaced_by_a_corrected_upload_is_not_resent(ledger: Ledger) -> None:
    lid = rejected_line(ledger, Outcome("error", "25", "bad"), item="12345678901234")
    fixed = ship(7, order(1), item="12345678901234", tracking="1Z999AA10123456785")
    take_in(ledger, [fixed], name="fixed.csv")
    result = ledger.resend(errors=True)
    assert result.requeued == [] and status_of(ledger, lid) == "error"
    assert "superseded by the corrected line 7 of fixed.csv" in result.skipped[lid]


def test_line_of_another_item_does_not_replace_a_failed_line(ledger: Ledger) -> None:
    lid = rejected_line(ledger, Outcome("error", "25", "bad"), item="12345678901234")
    take_in(ledger, [ship(7, order(1), item="99999999999999")], name="other.csv")
    assert ledger.resend(errors=True).requeued == [lid]
