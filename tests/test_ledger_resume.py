"""Crash between a recorded state and its side effect: a NEW Ledger finds exactly the work left.

Each test stops the flow after one step (as a killed process would), opens another Ledger
on the same database, and checks what the resume queries return.
"""

from __future__ import annotations

from ledger_db import order, ship, take_in

from processors.ledger.fileintake import FileIntake
from processors.ledger.queries import file_done
from processors.ledger.records import FileRecord, Outcome
from processors.ledger.store import Ledger

XML = b"<AmazonEnvelope>exact bytes</AmazonEnvelope>"


def _prepare(ledger: Ledger) -> tuple[int, list[int]]:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    with ledger.claim_queued("acme", 10) as claim:
        ids = [ln.id for ln in claim.lines]
        return claim.prepare_feed(XML, {1: [ids[0]], 2: [ids[1]]}), ids


def test_crash_after_intake_leaves_lines_queued(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        take_in(before, [ship(2)])
    with Ledger.open(ledger_url) as after:
        assert len(after.queued_lines("acme", 10)) == 1


def test_crash_after_prepare_resumes_the_same_bytes(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, _ = _prepare(before)
    with Ledger.open(ledger_url) as after:
        (resume,) = after.feeds_to_resume()
        assert (resume.id, resume.state, resume.content) == (feed_id, "prepared", XML)


def test_crash_after_prepare_does_not_batch_the_lines_again(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        _prepare(before)
    with Ledger.open(ledger_url) as after, after.claim_queued("acme", 10) as claim:
        assert claim.lines == []


def test_crash_during_upload_keeps_the_document_and_url(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, _ = _prepare(before)
        before.feed_document_created(feed_id, "doc-1", "https://upload.example/doc-1")
    with Ledger.open(ledger_url) as after:
        (resume,) = after.feeds_to_resume()
        assert (resume.state, resume.feed_document_id, resume.upload_url) == (
            "prepared",
            "doc-1",
            "https://upload.example/doc-1",
        )


def test_crash_after_upload_resumes_at_create_feed(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, ids = _prepare(before)
        before.feed_uploaded(feed_id, "doc-1")
    with Ledger.open(ledger_url) as after:
        (resume,) = after.feeds_to_resume()
        assert (resume.state, resume.feed_document_id, resume.content) == ("uploaded", "doc-1", XML)
        assert {ln.status for ln in after.lines(ids)} == {"in_queue"}


def test_repeated_upload_record_after_resume_is_harmless(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, _ = _prepare(before)
        before.feed_uploaded(feed_id, "doc-1")
    with Ledger.open(ledger_url) as after:
        after.feed_uploaded(feed_id, "doc-1")
        assert after.feed(feed_id).state == "uploaded"


def test_crash_after_create_leaves_the_feed_to_poll_only(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, ids = _prepare(before)
        before.feed_uploaded(feed_id, "doc-1")
        before.feed_created(feed_id, "AMZ-1")
    with Ledger.open(ledger_url) as after:
        assert after.feeds_to_resume() == []
        assert [(f.id, f.amazon_feed_id) for f in after.poll_submitted()] == [(feed_id, "AMZ-1")]
        assert {ln.status for ln in after.lines(ids)} == {"submitted"}


def test_repeated_create_record_after_resume_submits_nothing_twice(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, _ = _prepare(before)
        before.feed_uploaded(feed_id, "doc-1")
        before.feed_created(feed_id, "AMZ-1")
    with Ledger.open(ledger_url) as after:
        assert after.feed_created(feed_id, "AMZ-1") == []


def test_crash_after_completion_leaves_nothing_to_do(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        feed_id, ids = _prepare(before)
        before.feed_uploaded(feed_id, "doc-1")
        before.feed_created(feed_id, "AMZ-1")
        before.complete_feed(feed_id, {}, others=Outcome("confirmed"))
    with Ledger.open(ledger_url) as after:
        assert after.feeds_to_resume() == [] and after.poll_submitted() == []
        assert file_done(after, after.lines(ids)[0].file_id)


def test_rolled_back_intake_leaves_nothing_to_resume(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as before:
        intake = before.begin_file("acme", "big.csv", "9" * 64, 10)
        assert isinstance(intake, FileIntake)
        intake.add_lines([ship(2)])
        intake.abort()
    with Ledger.open(ledger_url) as after:
        assert after.queued_lines("acme", 10) == []
        again = after.record_file("acme", "big.csv", "9" * 64, 10, 1, [ship(2)], [])
        assert isinstance(again, FileRecord)
