"""The tracker: follow every created feed until Amazon's processing report is applied.

Per due feed (ledger.poll_submitted(due_only=True): the backoff comes from the poll
count):

* IN_QUEUE / IN_PROGRESS → recorded (feed_polled); stuck longer than
  ``service.stuck_after_seconds`` since submission → cancelFeed on Amazon (best effort)
  and fail_feed("stuck"), so its lines are resent, up to max_resends, then need attention;
* DONE → download and parse the report; each MessageID maps back to its lines: errors
  with Amazon's code and plain words (processors.outcomes), warnings confirmed with a
  note, the rest confirmed;
* a report with a document-level error, or one that disagrees with the feed
  (report.problems), is never taken as confirmations: the feed is failed and its lines
  resent;
* FATAL / CANCELLED → fail_feed, lines resent.

A transient failure (throttling, network) leaves the feed for the next poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from config.settings import SellerSettings
from feeds.errors import TerminalError, TransientError
from feeds.report import Outcome as ReportOutcome
from feeds.report import ProcessingReport, ReportMalformed, parse_processing_report
from feeds.spapi.feeds import Feed
from processors.context import Context
from processors.ledger.records import FeedRow, Outcome
from processors.ledger.statuses import FeedState, LineStatus
from processors.outcomes import explain, explain_warning

log = logging.getLogger(__name__)


@dataclass
class TrackResult:
    polled: int = 0
    completed: list[int] = field(default_factory=list)  # ledger feed ids with a report
    failed: list[int] = field(default_factory=list)  # failed (fatal, cancelled, bad report)
    stuck_resent: int = 0  # feeds given up as stuck
    confirmed_lines: list[int] = field(default_factory=list)  # for buyer notices


def run_tracking(ctx: Context, seller: SellerSettings | None = None) -> TrackResult:
    """Poll every due feed once; see the module docstring."""
    result = TrackResult()
    for feed in ctx.ledger.poll_submitted(seller.name if seller else None, due_only=True):
        try:
            _track(ctx, feed, result)
        except TransientError as exc:
            log.warning("feed %d: not polled this time: %s", feed.id, exc)
    return result


def _track(ctx: Context, feed: FeedRow, result: TrackResult) -> None:
    assert feed.amazon_feed_id is not None
    remote = ctx.client.feeds.get_feed(feed.amazon_feed_id)
    result.polled += 1
    status = remote.processing_status
    if status == "DONE":
        _done(ctx, feed, remote, result)
    elif status in ("FATAL", "CANCELLED"):
        ctx.ledger.fail_feed(feed.id, f"Amazon ended the feed {status}", state=FeedState.FATAL)
        result.failed.append(feed.id)
        log.warning("feed %d (%s) ended %s: lines resent", feed.id, feed.amazon_feed_id, status)
    elif _stuck(ctx, feed):
        _give_up(ctx, feed, status)
        result.stuck_resent += 1
        result.failed.append(feed.id)
    else:
        ctx.ledger.feed_polled(feed.id, status)


def _stuck(ctx: Context, feed: FeedRow) -> bool:
    since = feed.submitted_at or feed.created_at
    return ctx.clock() - since > timedelta(seconds=ctx.settings.service.stuck_after_seconds)


def _give_up(ctx: Context, feed: FeedRow, status: str) -> None:
    assert feed.amazon_feed_id is not None
    try:
        ctx.client.feeds.cancel_feed(feed.amazon_feed_id)
    except (TransientError, TerminalError) as exc:
        # Amazon may refuse once processing started; the lines are resent regardless and a
        # late confirmation of this feed is still applied to them (complete_feed).
        log.info("feed %d: cancelFeed not done (%s)", feed.id, exc)
    hours = ctx.settings.service.stuck_after_seconds / 3600
    ctx.ledger.fail_feed(
        feed.id, f"stuck: still {status} after {hours:g} h", state=FeedState.CANCELLED
    )
    log.warning(
        "feed %d (%s) stuck %s: cancelled, lines resent", feed.id, feed.amazon_feed_id, status
    )


def _done(ctx: Context, feed: FeedRow, remote: Feed, result: TrackResult) -> None:
    ledger = ctx.ledger
    if not remote.result_feed_document_id:
        _fail(ctx, feed, "Amazon finished the feed without a processing report", result)
        return
    doc = ctx.client.feeds.get_feed_document(remote.result_feed_document_id)
    data = ctx.client.feeds.download_document(doc)
    expected = range(1, feed.messages + 1)
    try:
        report = parse_processing_report(data, expected_message_ids=expected)
    except ReportMalformed as exc:
        _fail(ctx, feed, f"the processing report cannot be read: {exc}", result)
        return
    if report.document_failed:
        first = report.document_results[0]
        words = explain(first.message_code, first.description)
        _fail(ctx, feed, f"Amazon rejected the whole feed ({first.message_code}): {words}", result)
        return
    if report.problems:
        why = "; ".join(report.problems[:3])
        _fail(ctx, feed, f"the processing report does not match the feed: {why}", result)
        return
    lines = ledger.submitted_messages(feed.id)
    outcomes: dict[int, Outcome] = {}
    confirmed: list[int] = []
    for line_id, message_id in lines:
        o = _outcome(report, message_id)
        if o is not None:
            outcomes[line_id] = o
        if o is None or o.status == LineStatus.CONFIRMED:
            confirmed.append(line_id)
    ledger.complete_feed(
        feed.id,
        outcomes,
        others=Outcome(LineStatus.CONFIRMED.value, None, "confirmed by Amazon"),
        result_document_id=remote.result_feed_document_id,
        summary={
            "processed": report.processed,
            "successful": report.successful,
            "with_error": report.with_error,
            "with_warning": report.with_warning,
            "transaction_id": report.document_transaction_id,
        },
    )
    result.completed.append(feed.id)
    result.confirmed_lines.extend(confirmed)
    log.info(
        "feed %d (%s) done: %d lines confirmed, %d with errors",
        feed.id,
        feed.amazon_feed_id,
        len(confirmed),
        len(lines) - len(confirmed),
    )


def _outcome(report: ProcessingReport, message_id: int | None) -> Outcome | None:
    """The line's outcome, or None for a plain acceptance (the ``others`` of the feed)."""
    if message_id is None:
        return Outcome(LineStatus.ERROR.value, None, "not found in the feed's messages")
    mo = report.outcome(message_id)
    if mo.status == ReportOutcome.ACCEPTED:
        return None
    if mo.status == ReportOutcome.ACCEPTED_WITH_WARNING:
        w = mo.results[0]
        return Outcome(
            LineStatus.CONFIRMED.value,
            w.message_code or None,
            explain_warning(w.message_code, w.description),
        )
    if mo.status == ReportOutcome.ERROR:
        e = next((r for r in mo.results if r.is_error), mo.results[0])
        return Outcome(
            LineStatus.ERROR.value, e.message_code or None, explain(e.message_code, e.description)
        )
    # UNKNOWN cannot happen for a trusted report; never confirm on it.
    return Outcome(LineStatus.ERROR.value, None, "Amazon's report says nothing certain about it")


def _fail(ctx: Context, feed: FeedRow, reason: str, result: TrackResult) -> None:
    ctx.ledger.fail_feed(feed.id, reason, state=FeedState.FATAL)
    result.failed.append(feed.id)
    log.warning("feed %d (%s) failed: %s; lines resent", feed.id, feed.amazon_feed_id, reason)
