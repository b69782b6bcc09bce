"""Amazon slow or strange, against the simulator over HTTP: a feed that Amazon may still
apply is never resent; its report is read whenever it comes; an "already fulfilled"
answer is checked against the order on Amazon (on SQLite and PostgreSQL ledgers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from lifecycle_support import World, row

from feeds.simulator import FaultConfig
from processors import operator as op
from processors.ledger.statuses import FeedState

O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"
HELD = "stuck"  # the simulator keeps such a feed IN_PROGRESS until released


def _slow_world(world_factory: Callable[..., World], fault: str = HELD, **kw: object) -> World:
    w = world_factory(faults=FaultConfig().trigger(fault, "createFeed", 1), **kw)
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    w.intake()
    return w


def _past_stuck(w: World) -> None:
    w.clock.advance(w.ctx.settings.service.stuck_after_seconds + 60)


# -- a feed still with Amazon ------------------------------------------------------------------


def test_feed_in_progress_past_the_stuck_setting_is_never_resent(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    (feed_id,) = w.batch().feeds_created
    for _ in range(5):
        _past_stuck(w)
        w.batch()
        res = w.track()
        assert res.stuck == [feed_id]
    assert set(w.statuses().values()) == {"submitted"}
    assert w.sim.counters.feeds_created == 1


def test_stuck_feed_is_flagged_for_operators_in_status(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    w.batch()
    _past_stuck(w)
    w.track()
    data = op.status_data(w.ledger)
    assert data["feeds_stuck"] == 1
    assert "feeds stuck: 1" in op.status_text(data)


def test_stuck_feed_is_polled_on_with_backoff_capped_at_15_minutes(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    (feed_id,) = w.batch().feeds_created
    _past_stuck(w)
    for _ in range(15):
        w.track()
        w.clock.advance(901)  # just past the longest wait: due again every time
    feed = w.ledger.feed(feed_id)
    assert feed.poll_count >= 15
    assert feed.last_polled_at is not None
    assert feed.next_poll_at - feed.last_polled_at <= timedelta(minutes=15)


def test_feed_slower_than_the_stuck_setting_confirms_each_line_once_when_it_ends(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    w.batch()
    _past_stuck(w)
    w.track()
    w.sim.release_feeds()  # Amazon finishes it, hours late
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.sim.counters.feeds_created == 1


def test_stuck_feed_still_in_amazons_queue_is_cancelled_and_its_lines_resent(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory, fault="queued")
    (feed_id,) = w.batch().feeds_created
    _past_stuck(w)
    res = w.track()
    assert res.stuck_resent == 1
    assert w.ledger.feed(feed_id).state == FeedState.CANCELLED
    assert {(ln.status, ln.attempts) for ln in w.all_lines()} == {("in_queue", 1)}
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}


def test_feed_amazon_refuses_to_cancel_keeps_its_lines_submitted(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)  # IN_PROGRESS: Amazon refuses cancelFeed
    (feed_id,) = w.batch().feeds_created
    _past_stuck(w)
    w.track()
    assert w.ledger.feed(feed_id).state == FeedState.CREATED
    assert set(w.statuses().values()) == {"submitted"}


# -- resend --stuck -------------------------------------------------------------------------------


def test_resend_stuck_leaves_lines_of_a_feed_amazon_may_still_apply(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    w.batch()
    _past_stuck(w)
    w.track()
    stuck = w.ctx.settings.service.stuck_after_seconds
    res = w.ledger.resend(stuck_older_than=timedelta(seconds=stuck))
    assert res.requeued == [] and len(res.skipped) == 2
    assert all("may yet apply it" in why for why in res.skipped.values())


# -- late reports ---------------------------------------------------------------------------------


def test_late_report_confirms_a_line_resent_by_force_while_amazon_had_its_feed(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    w.batch()
    _past_stuck(w)
    w.track()
    forced = w.ledger.resend(order_ids=[O1], force=True)
    assert len(forced.requeued) == 1
    w.sim.release_feeds()
    w.clock.advance(1000)
    w.track()  # the first feed's report arrives before the resend goes out
    assert set(w.statuses().values()) == {"confirmed"}
    w.until_settled()
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}
    assert w.sim.counters.feeds_created == 1


def test_feed_given_up_by_an_older_shipfeed_is_polled_and_its_late_report_applied(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory)
    (feed_id,) = w.batch().feeds_created
    # What shipfeed did before: cancel the stuck feed locally and requeue its lines.
    w.ledger.fail_feed(feed_id, "stuck: still IN_PROGRESS after 1 h", state=FeedState.CANCELLED)
    assert [f.id for f in w.ledger.poll_submitted()] == [feed_id]
    w.sim.release_feeds()
    res = w.track()
    assert sorted(res.confirmed_lines) == sorted(ln.id for ln in w.all_lines())
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.ledger.feed(feed_id).state == FeedState.DONE
    assert w.ledger.poll_submitted() == []


def test_line_given_up_to_needs_attention_is_confirmed_by_the_feeds_late_report(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory, max_resends=0)
    (feed_id,) = w.batch().feeds_created
    # An older shipfeed gave the stuck feed up; with no resend left, the lines need attention.
    w.ledger.fail_feed(feed_id, "stuck: still IN_PROGRESS after 1 h", state=FeedState.CANCELLED)
    assert set(w.statuses().values()) == {"needs_attention"}
    w.sim.release_feeds()
    w.track()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1}


def test_feed_given_up_by_an_older_shipfeed_that_amazon_cancels_is_no_longer_polled(
    world_factory: Callable[..., World],
) -> None:
    w = _slow_world(world_factory, fault="queued")
    (feed_id,) = w.batch().feeds_created
    w.ledger.fail_feed(feed_id, "stuck: still IN_QUEUE after 1 h", state=FeedState.CANCELLED)
    feed = w.ledger.feed(feed_id)
    assert feed.amazon_feed_id is not None
    w.ctx.client.feeds.cancel_feed(feed.amazon_feed_id)
    w.track()
    assert w.ledger.poll_submitted() == []
    assert {(ln.status, ln.attempts) for ln in w.all_lines()} == {("in_queue", 1)}


# -- "already fulfilled" (18021) -------------------------------------------------------------------


def _shipped_on_amazon(w: World, order_id: str) -> None:
    """Amazon has it shipped already (a send the ledger does not know applied)."""
    order = w.book.get(order_id)
    assert order is not None
    with w.book.lock:
        for item in order.items:
            item.quantity_shipped = item.quantity_ordered
        order.status = "Shipped"


def test_already_fulfilled_for_an_order_amazon_shows_shipped_is_confirmed(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    w.order(O1, [(I1, 1)])
    _shipped_on_amazon(w, O1)
    w.drop("f.csv", [row(O1, I1, "1")])
    w.intake()
    w.batch()
    w.track()
    (line,) = w.all_lines()
    assert (line.status, line.result_code) == ("confirmed", "18021")
    assert "Amazon already shows it shipped" in (line.message or "")


def test_already_fulfilled_for_an_order_not_shipped_on_amazon_stays_an_error(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(spapi={"use_orders_api": False})
    w.order(O1, [(I1, 1)], status="Canceled")
    w.drop("f.csv", [row(O1, I1, "1")])
    w.intake()
    w.batch()
    w.track()
    (line,) = w.all_lines()
    assert (line.status, line.result_code) == ("error", "18021")


def test_already_fulfilled_waits_while_the_orders_api_cannot_be_asked(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(
        spapi={"use_orders_api": False},
        faults=FaultConfig().trigger("error503", "getOrders", 6),  # past the client's retries
    )
    w.order(O1, [(I1, 1)])
    _shipped_on_amazon(w, O1)
    w.drop("f.csv", [row(O1, I1, "1")])
    w.intake()
    (feed_id,) = w.batch().feeds_created
    res = w.track()
    assert res.undecided == 1 and res.completed == []
    assert w.statuses() == {f"{O1}/{I1}": "submitted"}
    assert w.ledger.feed(feed_id).state == FeedState.CREATED
    w.clock.advance(1000)
    w.track()
    assert w.statuses() == {f"{O1}/{I1}": "confirmed"}
    assert w.ledger.feed(feed_id).state == FeedState.DONE


# -- issue 9's scenario, smaller ---------------------------------------------------------------


def test_slow_feeds_and_a_disagreeing_report_apply_every_line_once_and_confirm_it(
    world_factory: Callable[..., World],
) -> None:
    faults = FaultConfig(stuck=1.0).trigger("corrupt_report", "createFeed", 1)
    w = world_factory(faults=faults, spapi={"use_orders_api": False})
    orders = [(f"111-{n:07d}-0000001", f"{10**13 + n}") for n in range(40)]
    for o, i in orders:
        w.order(o, [(i, 1)])
    w.drop("f.csv", [row(o, i, "1") for o, i in orders])
    w.intake()
    for _ in range(4):  # hours pass with every feed still in progress
        w.batch()
        _past_stuck(w)
        w.track()
    w.sim.release_feeds()
    w.until_settled()
    assert w.sim.counters.confirmations == {key: 1 for key in orders}
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.feeds_created == 1
