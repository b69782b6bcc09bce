"""The tracker against real processing reports from the simulator over HTTP: what a
warning, a document-level error and a report that disagrees with its feed do to the
lines (on SQLite and PostgreSQL ledgers)."""

from __future__ import annotations

from collections.abc import Callable

from lifecycle_support import World, row

from feeds.simulator import FaultConfig
from processors.ledger.queries import order_history
from processors.ledger.records import LineRow
from processors.ledger.statuses import FeedState

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"
OTHER_ITEM = "10000000000099"
UPS_BAD_CHECK_DIGIT = "1Z999AA10123456785"  # UPS-shaped, wrong check digit

#: Well-formed XML that breaks the envelope schema (no MerchantIdentifier, no
#: MessageType, no Message): Amazon fails such a document as a whole, MessageID 0.
BROKEN_FEED = b"<?xml version='1.0' encoding='UTF-8'?>\n<AmazonEnvelope><Header/></AmazonEnvelope>"


def _queued(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    w.intake()


def _stage_broken_feed(w: World) -> int:
    """Claim the queued lines into a prepared feed whose stored bytes break the schema;
    the next batch uploads and creates it exactly as it would any prepared feed."""
    with w.ledger.claim_queued("acme", 10) as claim:
        ids = [ln.id for ln in claim.lines]
        assert ids, "nothing queued to stage"
        return claim.prepare_feed(BROKEN_FEED, {n: [i] for n, i in enumerate(ids, start=1)})


def _lines(w: World) -> dict[str, LineRow]:
    return {ln.order_id: ln for ln in w.all_lines()}


# -- a warning -----------------------------------------------------------------------------


def test_tracking_format_warning_confirms_the_line_with_the_warning_in_its_message(
    world: World,
) -> None:
    world.sim.config.strict_tracking = False  # Amazon warns instead of rejecting
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1", tracking=UPS_BAD_CHECK_DIGIT)])
    world.intake()
    world.batch()
    res = world.track()
    (line,) = world.all_lines()
    assert (line.status, line.result_code) == ("confirmed", "18339")
    assert "tracking number does not match the carrier's format" in (line.message or "")
    assert res.confirmed_lines == [line.id]
    assert world.sim.counters.confirmations == {(O1, I1): 1}


def test_tracking_format_warning_is_kept_in_the_order_history(world: World) -> None:
    world.sim.config.strict_tracking = False
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1", tracking=UPS_BAD_CHECK_DIGIT)])
    world.intake()
    world.batch()
    world.track()
    (hist,) = order_history(world.ledger, O1)
    last = hist.events[-1]
    assert (last.from_status, last.to_status) == ("submitted", "confirmed")
    assert "tracking number does not match the carrier's format" in (last.message or "")


# -- a document-level error ----------------------------------------------------------------


def test_feed_rejected_as_a_whole_confirms_no_line_and_requeues_every_line(world: World) -> None:
    _queued(world)
    feed_id = _stage_broken_feed(world)
    assert world.batch().feeds_created == [feed_id]
    res = world.track()
    assert res.failed == [feed_id]
    assert res.confirmed_lines == []
    by_order = _lines(world)
    assert {(ln.status, ln.attempts) for ln in by_order.values()} == {("in_queue", 1)}
    assert world.sim.counters.confirmations == {}


def test_feed_rejected_as_a_whole_is_failed_with_amazons_code_in_plain_words(
    world: World,
) -> None:
    _queued(world)
    feed_id = _stage_broken_feed(world)
    world.batch()
    world.track()
    feed = world.ledger.feed(feed_id)
    assert feed.state == FeedState.FATAL
    assert "(50001)" in (feed.reason or "")
    assert "Amazon rejected the feed's envelope" in (feed.reason or "")
    (hist,) = order_history(world.ledger, O1)
    assert "Amazon rejected the whole feed (50001)" in (hist.events[-1].message or "")


def test_lines_of_a_feed_rejected_as_a_whole_are_confirmed_by_the_resend(world: World) -> None:
    _queued(world)
    _stage_broken_feed(world)
    world.batch()
    world.track()
    world.until_settled()  # the batcher writes a valid feed this time
    assert set(world.statuses().values()) == {"confirmed"}
    assert world.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}


def test_feed_rejected_as_a_whole_every_time_needs_attention_after_max_resends(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(max_resends=2)
    w.order(O1, [(I1, 1)])
    w.drop("f.csv", [row(O1, I1, "1")])
    w.intake()
    for _ in range(3):  # the first send and two resends, each rejected whole
        _stage_broken_feed(w)
        w.batch()
        w.track()
        w.clock.advance(1000)
    (line,) = w.all_lines()
    assert (line.status, line.attempts) == ("needs_attention", 2)
    assert w.sim.counters.feeds_created == 3
    assert w.sim.counters.confirmations == {}


# -- a report that disagrees with its feed ---------------------------------------------------


def test_report_naming_a_message_the_feed_never_sent_confirms_lines_amazon_shows_shipped(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("corrupt_report", "createFeed", 1))
    _queued(w)
    (feed_id,) = w.batch().feeds_created
    res = w.track()
    assert res.completed == [feed_id]
    assert {(ln.status, ln.attempts) for ln in w.all_lines()} == {("confirmed", 0)}
    assert w.sim.counters.feeds_created == 1


def test_line_confirmed_by_its_order_on_amazon_says_why(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("corrupt_report", "createFeed", 1))
    _queued(w)
    (feed_id,) = w.batch().feeds_created
    w.track()
    line = _lines(w)[O1]
    assert "Amazon already shows it shipped" in (line.message or "")
    assert "MessageIDs the feed did not send: [3]" in (line.message or "")
    assert w.ledger.feed(feed_id).state == FeedState.DONE


def test_line_a_disagreeing_report_is_silent_about_and_amazon_did_not_apply_is_resent(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("corrupt_report", "createFeed", 1))
    _queued(w)
    w.batch()
    w.sim.advance()
    _unship(w, O2)  # the report's silence about O2 covers a message Amazon did not apply
    w.track()
    lines = _lines(w)
    assert lines[O1].status == "confirmed"
    assert (lines[O2].status, lines[O2].attempts) == ("in_queue", 1)
    assert "Amazon did not apply it" in (lines[O2].message or "")
    w.until_settled()
    assert w.statuses() == {f"{O1}/{I1}": "confirmed", f"{O2}/{I2}": "confirmed"}
    assert w.book.get(O2) is not None and w.book.get(O2).status == "Shipped"  # type: ignore[union-attr]


def test_explicit_error_in_a_disagreeing_report_is_applied(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("corrupt_report", "createFeed", 1))
    w.order(O1, [(I1, 1)])
    w.order(O2, [(OTHER_ITEM, 1)])  # the line names an item not in O2: 18029
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    w.intake()
    w.batch()
    w.track()
    lines = _lines(w)
    assert lines[O1].status == "confirmed"
    assert (lines[O2].status, lines[O2].result_code) == ("error", "18029")


def _unship(w: World, order_id: str) -> None:
    order = w.book.get(order_id)
    assert order is not None
    with w.book.lock:
        for item in order.items:
            item.quantity_shipped = 0
        order.shipments.clear()
        order.status = "Unshipped"


def test_lines_of_a_feed_with_a_disagreeing_report_end_confirmed_once_on_amazon(
    world_factory: Callable[..., World],
) -> None:
    # Amazon did apply the feed; only its report cannot be believed. The resend must not
    # confirm the orders a second time (the order lookup sees them shipped).
    w = world_factory(faults=FaultConfig().trigger("corrupt_report", "createFeed", 1))
    _queued(w)
    w.batch()
    w.track()
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}


def test_unreadable_report_confirms_lines_amazon_shows_shipped_without_a_resend(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("garbled_report", "createFeed", 1))
    _queued(w)
    (feed_id,) = w.batch().feeds_created
    w.track()
    lines = _lines(w)
    assert {(ln.status, ln.attempts) for ln in lines.values()} == {("confirmed", 0)}
    assert "the processing report cannot be read" in (lines[O1].message or "")
    assert w.ledger.feed(feed_id).state == FeedState.DONE
    assert w.sim.counters.feeds_created == 1
