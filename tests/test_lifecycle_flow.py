"""Batch and track against the simulator over HTTP: what Amazon ends up knowing."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from lifecycle_support import World, row

from feeds.simulator import FaultConfig

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
I1, I2, I3 = "10000000000001", "10000000000002", "10000000000003"


def _three_orders(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.order(O3, [(I3, 2)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1"), row(O3, I3, "2")])
    w.intake()


def test_batch_creates_one_feed_and_submits_every_line(world: World) -> None:
    _three_orders(world)
    res = world.batch()
    assert len(res.feeds_created) == 1
    assert res.lines_submitted == 3
    assert world.sim.counters.feeds_created == 1
    assert set(world.statuses().values()) == {"submitted"}


def test_track_confirms_each_order_item_exactly_once(world: World) -> None:
    _three_orders(world)
    world.batch()
    res = world.track()
    assert len(res.completed) == 1
    assert len(res.confirmed_lines) == 3
    assert set(world.statuses().values()) == {"confirmed"}
    assert world.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1, (O3, I3): 1}


def test_unknown_order_is_an_error_with_code_18028_in_plain_words(
    world_factory: Callable[..., World],
) -> None:
    # Without order lookups the line is sent and Amazon's processing report answers; with
    # them the mirror finds it unknown before sending (tests/test_unknown_orders.py).
    world = world_factory(spapi={"use_orders_api": False})
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    world.intake()
    world.batch()
    world.track()
    by_order = {ln.order_id: ln for ln in world.all_lines()}
    assert by_order[O1].status == "confirmed"
    bad = by_order[O2]
    assert (bad.status, bad.result_code) == ("error", "18028")
    assert bad.message is not None
    assert bad.message.startswith("order not found on Amazon for this seller")
    assert "Amazon does not know this order id for your account" in bad.message
    assert "check the order number" in bad.message


def test_the_done_log_line_counts_plainly_accepted_lines_with_the_errors(
    world_factory: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    world = world_factory(spapi={"use_orders_api": False})  # the unknown order is sent
    world.order(O1, [(I1, 1)])
    world.order(O3, [(I3, 2)])
    world.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1"), row(O3, I3, "2")])
    world.intake()
    world.batch()
    with caplog.at_level(logging.INFO, logger="processors.tracker"):
        world.track()
    (done,) = [r.getMessage() for r in caplog.records if " done: " in r.getMessage()]
    tally = done.split(" done: ")[1]
    assert (
        tally == "2 confirmed, 1 error, 0 resent, 0 need attention (0 verified on Amazon), 0 wait"
    )


def test_fatal_feed_is_resent_then_needs_attention_after_max_resends(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig().trigger("fatal", "createFeed", 10), max_resends=2)
    w.order(O1, [(I1, 1)])
    w.drop("f.csv", [row(O1, I1, "1")])
    w.intake()
    w.until_settled()
    (line,) = w.all_lines()
    assert line.status == "needs_attention"
    assert line.attempts == 2
    assert w.sim.counters.feeds_created == 3  # the first send and two resends
    assert w.sim.counters.confirmations == {}


def test_throttling_still_ends_with_every_order_confirmed(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(faults=FaultConfig(throttle=0.3))
    _three_orders(w)
    w.until_settled()
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1, (O3, I3): 1}
    assert sum(w.sim.counters.throttled.values()) > 0


def test_order_cancelled_on_amazon_is_cancelled_and_never_sent(world: World) -> None:
    world.order(O1, [(I1, 1)], status="Canceled")
    world.order(O2, [(I2, 1)])
    world.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1")])
    world.intake()
    res = world.batch()
    assert res.cancelled == 1
    world.until_settled()
    assert world.statuses() == {f"{O1}/{I1}": "cancelled", f"{O2}/{I2}": "confirmed"}
    assert world.sim.counters.confirmations == {(O2, I2): 1}
    assert world.sim.counters.messages_processed == 1


def test_order_already_shipped_on_amazon_is_confirmed_elsewhere_and_never_sent(
    world: World,
) -> None:
    order = world.book.add_order(O1, [(I1, 1)])
    order.items[0].quantity_shipped = 1
    order.status = "Shipped"
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    res = world.batch()
    assert res.confirmed_elsewhere == 1
    assert res.feeds_created == []
    (line,) = world.all_lines()
    assert line.status == "confirmed"
    assert "already shows this order shipped" in (line.message or "")
    assert world.sim.counters.feeds_created == 0


def test_missing_ship_method_is_filled_from_the_order_service_level(world: World) -> None:
    world.order(O1, [(I1, 1)], ship_service_level="Exp US D2D Dom")
    world.drop("f.csv", [row(O1, I1, "1", method="")])
    world.intake()
    world.until_settled()
    (line,) = world.all_lines()
    assert (line.status, line.ship_method) == ("confirmed", "Exp US D2D Dom")
    (shipment,) = world.book.get(O1).shipments  # type: ignore[union-attr]
    assert shipment.shipping_method == "Exp US D2D Dom"


def test_few_orders_under_the_threshold_go_by_confirm_shipment(
    world_factory: Callable[..., World],
) -> None:
    w = world_factory(service={"direct_threshold": 5})
    _three_orders(w)
    res = w.batch()
    assert res.direct_confirmed == 3
    assert res.feeds_created == []
    assert w.sim.counters.feeds_created == 0
    assert set(w.statuses().values()) == {"confirmed"}
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1, (O3, I3): 1}
    refs = {s.package_reference_id for o in (O1, O2, O3) for s in w.book.get(o).shipments}  # type: ignore[union-attr]
    assert len(refs) == 3
