"""The tracker: follow every feed Amazon may still apply until its report is applied.

Exactly once rests on one rule: a line is resent only when Amazon has said that it did
not apply it. So, per due feed (ledger.poll_submitted(due_only=True): the backoff comes
from the poll count, capped at 15 minutes):

* IN_QUEUE / IN_PROGRESS → recorded (feed_polled). Past ``service.stuck_after_seconds``
  the feed is flagged stuck (``status`` shows it) and polled on, never resent: Amazon's
  feeds can sit for hours. Only an IN_QUEUE feed can be cancelled; if cancelFeed works and
  Amazon then shows the feed CANCELLED, its lines are resent.
* FATAL / CANCELLED → fail_feed: Amazon applied nothing, the lines are resent.
* DONE → the report, line by line (processors.outcomes for the words): accepted and
  warnings confirmed, errors are errors, except that
  - "already fulfilled" (18021) is checked against the order on Amazon (processors.verify):
    shipped there → confirmed; otherwise the error stands;
  - a report that disagrees with its feed (report.problems) or cannot be read is believed
    only for explicit errors of messages the feed sent; every other line is checked
    against its order: shipped → confirmed, not shipped → resent (Amazon did not apply
    it), partly shipped → needs attention;
  - a line whose order cannot be asked now stays submitted; the next poll decides it.
  - a report rejecting the whole document (MessageID 0) → nothing applied: resent.
* A feed an older shipfeed gave up on while Amazon had it is polled too: its late report
  confirms the lines it applied, wherever they are now.

A transient failure (throttling, network) leaves the feed for the next poll; anything
else (credentials, a refused ledger step) stops the step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from config.settings import SellerSettings
from feeds.errors import TerminalError, TransientError
from feeds.feedmessages import message_keys
from feeds.report import Outcome as ReportOutcome
from feeds.report import ProcessingReport, ReportMalformed, ResultLine, parse_processing_report
from feeds.spapi.errors import CredentialsError
from feeds.spapi.feeds import Feed
from processors.context import Context
from processors.ledger import tracking
from processors.ledger.feedclaims import try_claim
from processors.ledger.records import FeedRow, Outcome
from processors.ledger.statuses import FeedState, LineStatus
from processors.ledger.supersede import corrected
from processors.outcomes import explain, explain_warning
from processors.verify import CALLS_PER_PASS, Query, Verdict, check_shipped

log = logging.getLogger(__name__)

S = LineStatus
#: Amazon's "the quantity cannot be fulfilled": also its answer to an item already shipped.
ALREADY_FULFILLED = "18021"
CONFIRMED = Outcome(S.CONFIRMED.value, None, "confirmed by Amazon")


@dataclass
class TrackResult:
    polled: int = 0
    completed: list[int] = field(default_factory=list)  # ledger feed ids with a report
    failed: list[int] = field(default_factory=list)  # Amazon ended them FATAL/CANCELLED
    stuck_resent: int = 0  # stuck feeds Amazon cancelled on request: lines resent
    stuck: list[int] = field(default_factory=list)  # flagged stuck, still polled
    checked: int = 0  # lines decided by their order's state on Amazon
    undecided: int = 0  # lines left for the next poll (Orders API unavailable)
    order_calls: int = 0  # getOrders calls this pass (shared budget: verify.CALLS_PER_PASS)
    confirmed_lines: list[int] = field(default_factory=list)  # for buyer notices


def run_tracking(ctx: Context, seller: SellerSettings | None = None) -> TrackResult:
    """Poll every due feed once; see the module docstring."""
    result = TrackResult()
    for feed in ctx.ledger.poll_submitted(seller.name if seller else None, due_only=True):
        # Several workers: one feed is polled and applied by one of them at a time, and
        # read again once claimed: if the previous holder acted on it since it was listed
        # (polled, completed, failed), this pass leaves it.
        claim = try_claim(ctx.ledger, feed.id)
        if claim is None:
            continue
        with claim:
            if ctx.ledger.feed(feed.id) != feed:
                continue
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
    given_up = feed.state != FeedState.CREATED
    if status == "DONE":
        _done(ctx, feed, remote, result)
    elif status in ("FATAL", "CANCELLED") and given_up:
        tracking.close_given_up(ctx.ledger, feed.id, status)
    elif status in ("FATAL", "CANCELLED"):
        state = FeedState.FATAL if status == "FATAL" else FeedState.CANCELLED
        ctx.ledger.fail_feed(feed.id, f"Amazon ended the feed {status}", state=state)
        result.failed.append(feed.id)
        log.warning("feed %d (%s) ended %s: lines resent", feed.id, feed.amazon_feed_id, status)
    elif given_up or not _stuck(ctx, feed):
        ctx.ledger.feed_polled(feed.id, status)
    elif status == "IN_QUEUE" and _cancelled(ctx, feed):
        hours = ctx.settings.service.stuck_after_seconds / 3600
        reason = f"cancelled on Amazon after waiting over {hours:g} h in its queue"
        ctx.ledger.fail_feed(feed.id, reason, state=FeedState.CANCELLED)
        result.stuck_resent += 1
        result.failed.append(feed.id)
        log.warning("feed %d (%s): %s; lines resent", feed.id, feed.amazon_feed_id, reason)
    else:
        hours = ctx.settings.service.stuck_after_seconds / 3600
        reason = (
            f"{tracking.STUCK_PREFIX}: {status} for over {hours:g} h; Amazon may still apply "
            "it, so it is polled until Amazon ends it, never resent"
        )
        tracking.flag_stuck(ctx.ledger, feed.id, status, reason)
        result.stuck.append(feed.id)
        log.warning("feed %d (%s) stuck %s: polled on", feed.id, feed.amazon_feed_id, status)


def _stuck(ctx: Context, feed: FeedRow) -> bool:
    since = feed.submitted_at or feed.created_at
    return ctx.clock() - since > timedelta(seconds=ctx.settings.service.stuck_after_seconds)


def _cancelled(ctx: Context, feed: FeedRow) -> bool:
    """Ask Amazon to cancel a feed still in its queue; True once Amazon shows it CANCELLED
    (only then has it certainly applied nothing)."""
    assert feed.amazon_feed_id is not None
    try:
        ctx.client.feeds.cancel_feed(feed.amazon_feed_id)
    except CredentialsError:
        raise
    except (TransientError, TerminalError) as exc:
        log.info("feed %d: cancelFeed not done (%s); polled on", feed.id, exc)
        return False
    return ctx.client.feeds.get_feed(feed.amazon_feed_id).processing_status == "CANCELLED"


# -- the report ---------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the report decides, and which lines the orders on Amazon must decide."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    check: dict[int, Query] = field(default_factory=dict)
    already: dict[int, ResultLine] = field(default_factory=dict)  # 18021 answers
    accepted: list[int] = field(default_factory=list)  # plainly accepted: ``others``
    unclear: str = ""  # why the report is not believed about plain acceptances


def _done(ctx: Context, feed: FeedRow, remote: Feed, result: TrackResult) -> None:
    report, unreadable = _read_report(ctx, feed, remote)
    if report is not None and report.document_failed:
        first = report.document_results[0]
        words = explain(first.message_code, first.description)
        reason = f"Amazon rejected the whole feed ({first.message_code}): {words}"
        if feed.state == FeedState.CREATED:
            ctx.ledger.fail_feed(feed.id, reason, state=FeedState.FATAL)
            result.failed.append(feed.id)
        else:
            tracking.close_given_up(ctx.ledger, feed.id, "DONE")
        log.warning("feed %d (%s): %s; lines resent", feed.id, feed.amazon_feed_id, reason)
        return
    plan = _plan(ctx, feed, report, unreadable)
    undecided = _check(ctx, feed, plan, result)
    ctx.ledger.complete_feed(
        feed.id,
        plan.outcomes,
        others=CONFIRMED,
        undecided=undecided,
        result_document_id=remote.result_feed_document_id,
        summary=None
        if report is None
        else {
            "processed": report.processed,
            "successful": report.successful,
            "with_error": report.with_error,
            "with_warning": report.with_warning,
            "transaction_id": report.document_transaction_id,
        },
    )
    confirmed = [k for k, o in plan.outcomes.items() if o.status == S.CONFIRMED]
    result.confirmed_lines.extend(confirmed + plan.accepted)
    result.undecided += len(undecided)
    if not undecided:
        result.completed.append(feed.id)
    log.info("feed %d (%s) done: %s", feed.id, feed.amazon_feed_id, _tally(plan, undecided))


#: The words of the "done" log line per status a report leaves a line in.
_TALLY_WORDS = (
    (S.CONFIRMED, "confirmed"),
    (S.ERROR, "error"),
    (S.IN_QUEUE, "resent"),
    (S.NEEDS_ATTENTION, "need attention"),
)


def _tally(plan: _Plan, undecided: set[int]) -> str:
    """Every line of the feed counted once by where the report left it, plainly accepted
    ones too (they are confirmed through complete_feed's ``others``, not ``outcomes``),
    and how many of them the orders on Amazon decided: "298 confirmed, 2 error, 0 resent,
    0 need attention (3 verified on Amazon), 0 wait"."""
    counts = {status: 0 for status, _ in _TALLY_WORDS}
    counts[S.CONFIRMED] += len(plan.accepted)
    for outcome in plan.outcomes.values():
        status = S(outcome.status)
        counts[status] = counts.get(status, 0) + 1
    words = [f"{counts.pop(status)} {word}" for status, word in _TALLY_WORDS]
    words += [f"{n} {status.value}" for status, n in counts.items() if n]
    verified = len(plan.check) - len(undecided)
    return f"{', '.join(words)} ({verified} verified on Amazon), {len(undecided)} wait"


def _read_report(ctx: Context, feed: FeedRow, remote: Feed) -> tuple[ProcessingReport | None, str]:
    """The parsed report, or None and why it cannot be read (then orders decide)."""
    if not remote.result_feed_document_id:
        return None, "Amazon finished the feed without a processing report"
    doc = ctx.client.feeds.get_feed_document(remote.result_feed_document_id)
    data = ctx.client.feeds.download_document(doc)
    try:
        return parse_processing_report(data, expected_message_ids=range(1, feed.messages + 1)), ""
    except ReportMalformed as exc:
        return None, f"the processing report cannot be read: {exc}"


def _plan(ctx: Context, feed: FeedRow, report: ProcessingReport | None, unreadable: str) -> _Plan:
    plan = _Plan(unclear=unreadable)
    if report is not None and report.problems:
        plan.unclear = "the processing report does not match the feed: " + "; ".join(
            report.problems[:3]
        )
    corrections: dict[int, int] = {}  # line id -> the superseded line it corrects
    for line in tracking.report_lines(ctx.ledger, feed.id):
        query = Query(line.id, line.order_id, line.order_item_id)
        if report is None or line.message_id is None:
            plan.check[line.id] = query
            continue
        mo = report.outcome(line.message_id)
        if mo.status == ReportOutcome.ACCEPTED and line.corrects is not None:
            corrections[line.id] = line.corrects
        elif mo.status == ReportOutcome.ACCEPTED:
            plan.accepted.append(line.id)
        elif mo.status == ReportOutcome.ACCEPTED_WITH_WARNING:
            w = mo.results[0]
            plan.outcomes[line.id] = Outcome(
                S.CONFIRMED.value,
                w.message_code or None,
                explain_warning(w.message_code, w.description),
            )
        elif mo.status == ReportOutcome.ERROR:
            e = next((r for r in mo.results if r.is_error), mo.results[0])
            if e.message_code == ALREADY_FULFILLED:
                plan.check[line.id] = query
                plan.already[line.id] = e
            else:
                words = explain(e.message_code, e.description)
                plan.outcomes[line.id] = Outcome(S.ERROR.value, e.message_code or None, words)
        else:  # UNKNOWN: the report cannot be believed about this message
            plan.check[line.id] = query
    named = corrected(ctx.ledger, list(corrections.values()))
    for line_id, earlier in corrections.items():
        what = named.get(earlier, f"line id {earlier}")
        msg = f"confirmed by Amazon, as the correction of {what} (superseded, not sent)"
        plan.outcomes[line_id] = Outcome(S.CONFIRMED.value, None, msg)
    if report is not None:
        _late(ctx, feed, report, plan)
    return plan


def _late(ctx: Context, feed: FeedRow, report: ProcessingReport, plan: _Plan) -> None:
    """Confirmations for lines that left the feed while Amazon had it (an operator forced
    a resend, or an older shipfeed gave the feed up): Amazon applied them all the same."""
    ledger = ctx.ledger
    if (
        feed.state == FeedState.CREATED
        and tracking.messages_covered(ledger, feed.id) >= feed.messages
    ):
        return
    moved = tracking.moved_lines(ledger, feed.id)
    if not moved:
        return
    keys = message_keys(ledger.feed(feed.id, with_content=True).content or b"")
    for line_id, order_id, item_id, status in moved:
        mid = keys.get((order_id, item_id))
        if mid is None or status == S.CONFIRMED:
            continue
        if report.outcome(mid).accepted:
            plan.outcomes[line_id] = Outcome(S.CONFIRMED.value, None, None)


def _check(ctx: Context, feed: FeedRow, plan: _Plan, result: TrackResult) -> set[int]:
    """Decide the lines the report leaves open by their orders on Amazon; returns those
    that must wait for the next poll."""
    if not plan.check:
        return set()
    left = CALLS_PER_PASS - result.order_calls
    verdicts, calls = check_shipped(ctx, feed.seller, list(plan.check.values()), max_calls=left)
    result.order_calls += calls
    undecided = {k for k, v in verdicts.items() if v == Verdict.UNKNOWN}
    result.checked += len(verdicts) - len(undecided)
    for line_id, v in verdicts.items():
        e = plan.already.get(line_id)
        if v == Verdict.UNKNOWN:
            continue
        if v == Verdict.SHIPPED:
            why = (
                "Amazon answered 'already fulfilled' and"
                if e is not None
                else f"Amazon's report said nothing certain ({plan.unclear}), but"
            )
            msg = f"confirmed: {why} Amazon already shows it shipped"
            plan.outcomes[line_id] = Outcome(S.CONFIRMED.value, e.message_code if e else None, msg)
        elif e is not None:
            words = explain(e.message_code, e.description)
            plan.outcomes[line_id] = Outcome(S.ERROR.value, e.message_code or None, words)
        elif v == Verdict.NOT_SHIPPED:
            msg = (
                f"Amazon's report said nothing certain ({plan.unclear}) and Amazon shows the "
                "order not shipped: Amazon did not apply it"
            )
            plan.outcomes[line_id] = Outcome(S.IN_QUEUE.value, None, msg)
        else:
            msg = (
                f"Amazon's report said nothing certain ({plan.unclear}) and Amazon shows the "
                "order partly shipped: check it in Seller Central"
            )
            plan.outcomes[line_id] = Outcome(S.NEEDS_ATTENTION.value, None, msg)
    return undecided
