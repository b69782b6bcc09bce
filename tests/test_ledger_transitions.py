"""Named transitions: the status table, events, feeds, resends and operator actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ledger_db import order, queued_feed, sent_feed, ship, status_of, take_in

from processors.ledger.errors import (
    CannotCancel,
    FeedStateError,
    IllegalTransition,
    IncompleteOutcomes,
    LedgerError,
    LinesNotQueued,
)
from processors.ledger.queries import order_history
from processors.ledger.records import Outcome
from processors.ledger.statuses import ALLOWED, LineStatus, check_transition
from processors.ledger.store import Ledger


class Clock:
    """A settable clock: 'an hour later' without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(ledger: Ledger) -> Clock:
    c = Clock()
    ledger.clock = c
    return c


def test_confirmed_leaves_only_for_needs_attention_when_amazon_still_shows_it_unshipped() -> None:
    assert ALLOWED[LineStatus.CONFIRMED] == frozenset({LineStatus.NEEDS_ATTENTION})


def test_illegal_transition_names_line_and_statuses() -> None:
    with pytest.raises(
        IllegalTransition, match=r"line 7 \(order X\) cannot go from confirmed to in_queue"
    ):
        check_transition(7, "X", "confirmed", "in_queue")


def test_created_feed_submits_its_lines_with_one_event_each(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    feed_id, ids = sent_feed(ledger)
    assert [status_of(ledger, i) for i in ids] == ["submitted", "submitted"]
    events = order_history(ledger, order(1))[0].events
    assert [(e.from_status, e.to_status, e.feed_id) for e in events] == [
        ("in_queue", "submitted", feed_id)
    ]


def test_prepared_feed_keeps_lines_in_queue_but_reserved(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, (lid,) = queued_feed(ledger)
    line = ledger.lines([lid])[0]
    assert (line.status, line.feed_id, line.message_id) == ("in_queue", feed_id, 1)
    assert ledger.queued_lines("acme", 10) == []


def test_reserved_lines_cannot_go_into_a_second_feed(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    _, (lid,) = queued_feed(ledger)
    with pytest.raises(LinesNotQueued):
        ledger.prepare_feed("acme", [lid], b"<x/>", {1: [lid]})


def test_every_line_must_be_in_exactly_one_message(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    a, b = (ln.id for ln in ledger.queued_lines("acme", 10))
    with pytest.raises(LedgerError, match="exactly one message"):
        ledger.prepare_feed("acme", [a, b], b"<x/>", {1: [a]})


def test_feed_cannot_be_created_before_upload(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, _ = queued_feed(ledger)
    with pytest.raises(FeedStateError, match="only after upload"):
        ledger.feed_created(feed_id, "AMZ-1")


def test_complete_feed_confirms_and_rejects_per_line(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    feed_id, (a, b) = sent_feed(ledger)
    ledger.complete_feed(
        feed_id,
        {b: Outcome("error", "18028", "tracking number is not valid")},
        others=Outcome("confirmed"),
    )
    assert ledger.lines([a, b])[0].status == "confirmed"
    bad = ledger.lines([b])[0]
    assert (bad.status, bad.result_code, bad.message) == (
        "error",
        "18028",
        "tracking number is not valid",
    )
    assert ledger.feed(feed_id).state == "done"


def test_complete_feed_needs_an_outcome_for_every_line(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1)), ship(3, order(2))])
    feed_id, (a, _) = sent_feed(ledger)
    with pytest.raises(IncompleteOutcomes):
        ledger.complete_feed(feed_id, {a: Outcome("confirmed")})
    assert ledger.feed(feed_id).state == "created"


def test_fatal_feed_requeues_lines_with_one_more_attempt(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, (lid,) = sent_feed(ledger)
    ledger.fail_feed(feed_id, "FATAL")
    line = ledger.lines([lid])[0]
    assert (line.status, line.attempts, line.feed_id) == ("in_queue", 1, None)
    assert ledger.feed(feed_id).state == "fatal"


def test_fatal_feed_past_max_resends_needs_attention(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    for _ in range(ledger.max_resends):
        feed_id, (lid,) = sent_feed(ledger)
        ledger.fail_feed(feed_id, "FATAL")
    feed_id, (lid,) = sent_feed(ledger)
    ledger.fail_feed(feed_id, "FATAL")
    line = ledger.lines([lid])[0]
    assert (line.status, line.attempts) == ("needs_attention", ledger.max_resends)


def test_abandoned_prepared_feed_frees_lines_without_an_attempt(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, (lid,) = queued_feed(ledger)
    ledger.fail_feed(feed_id, "upload refused", state="cancelled")
    line = ledger.lines([lid])[0]
    assert (line.status, line.attempts, line.feed_id) == ("in_queue", 0, None)


def test_stuck_lines_are_submitted_lines_older_than_the_limit(ledger: Ledger, clock: Clock) -> None:
    take_in(ledger, [ship(2)])
    _, (lid,) = sent_feed(ledger)
    assert ledger.stuck_lines(timedelta(hours=1)) == []
    clock.now += timedelta(hours=2)
    assert [ln.id for ln in ledger.stuck_lines(timedelta(hours=1))] == [lid]


def test_resend_stuck_skips_lines_of_a_feed_amazon_may_still_apply(
    ledger: Ledger, clock: Clock
) -> None:
    take_in(ledger, [ship(2)])
    _, (lid,) = sent_feed(ledger)
    clock.now += timedelta(hours=2)
    result = ledger.resend(stuck_older_than=timedelta(hours=1))
    assert result.requeued == []
    assert "still with Amazon, which may yet apply it" in result.skipped[lid]
    assert status_of(ledger, lid) == "submitted"


def test_resend_stuck_forced_puts_lines_back_in_queue(ledger: Ledger, clock: Clock) -> None:
    take_in(ledger, [ship(2)])
    _, (lid,) = sent_feed(ledger)
    clock.now += timedelta(hours=2)
    result = ledger.resend(stuck_older_than=timedelta(hours=1), force=True)
    assert result.requeued == [lid]
    assert ledger.lines([lid])[0].attempts == 1


def test_resend_leaves_a_fresh_submitted_line_alone(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    _, (lid,) = sent_feed(ledger)
    result = ledger.resend(order_ids=[order(1)])
    assert lid in result.skipped and status_of(ledger, lid) == "submitted"


def test_resend_errors_requeues_them(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, (lid,) = sent_feed(ledger)
    ledger.complete_feed(feed_id, {lid: Outcome("error", "25", "bad")})
    assert ledger.resend(errors=True).requeued == [lid]


def test_resend_past_the_limit_needs_attention_unless_forced(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    for _ in range(ledger.max_resends + 1):
        feed_id, (lid,) = sent_feed(ledger)
        ledger.complete_feed(feed_id, {lid: Outcome("error", "25", "bad")})
        ledger.resend(errors=True)
    assert status_of(ledger, lid) == "needs_attention"
    assert ledger.resend(line_ids=[lid]).skipped
    assert ledger.resend(line_ids=[lid], force=True).requeued == [lid]


def test_resend_refuses_confirmed_lines(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, (lid,) = sent_feed(ledger)
    ledger.complete_feed(feed_id, {}, others=Outcome("confirmed"))
    assert "already confirmed" in ledger.resend(order_ids=[order(1)]).skipped[lid]


def test_cancel_queued_order(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    (lid,) = ledger.cancel(order(1))
    assert status_of(ledger, lid) == "cancelled"


def test_submitted_order_cannot_be_cancelled_locally(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    sent_feed(ledger)
    with pytest.raises(CannotCancel, match="already on its way to Amazon"):
        ledger.cancel(order(1))


def test_confirmed_order_cannot_be_cancelled(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    feed_id, _ = sent_feed(ledger)
    ledger.complete_feed(feed_id, {}, others=Outcome("confirmed"))
    with pytest.raises(CannotCancel, match="already has it shipped"):
        ledger.cancel(order(1))


def test_cancelled_on_amazon_is_never_sent(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    with ledger.claim_queued("acme", 10) as claim:
        claim.mark_cancelled_on_amazon([claim.lines[0].id])
    assert ledger.queued_lines("acme", 10) == []


def test_ship_method_is_set_before_sending(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    with ledger.claim_queued("acme", 10) as claim:
        claim.set_ship_method(claim.lines[0].id, "Standard")
        lid = claim.lines[0].id
    assert ledger.lines([lid])[0].ship_method == "Standard"


def test_ship_method_cannot_change_once_sent(ledger: Ledger) -> None:
    take_in(ledger, [ship(2)])
    _, (lid,) = sent_feed(ledger)
    with pytest.raises(LedgerError, match="can no longer change"):
        ledger.set_ship_method(lid, "Expedited")


def test_late_confirmation_of_a_requeued_line_confirms_it(ledger: Ledger, clock: Clock) -> None:
    take_in(ledger, [ship(2)])
    feed_id, (lid,) = sent_feed(ledger)
    clock.now += timedelta(hours=2)
    assert ledger.resend(stuck_older_than=timedelta(hours=1), force=True).requeued == [lid]
    ledger.complete_feed(feed_id, {lid: Outcome("confirmed")}, others=Outcome("confirmed"))
    assert status_of(ledger, lid) == "confirmed"


def test_poll_submitted_lists_created_feeds_least_recently_polled_first(ledger: Ledger) -> None:
    take_in(ledger, [ship(2, order(1))])
    first, _ = sent_feed(ledger)
    take_in(ledger, [ship(2, order(2))], name="b.csv")
    second, _ = sent_feed(ledger)
    ledger.feed_polled(first, "IN_PROGRESS")
    polled = ledger.poll_submitted()
    assert [f.id for f in polled] == [second, first]
    assert polled[1].poll_count == 1
