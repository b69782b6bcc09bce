"""The order mirror (issue 11): kept up to date from the simulator over HTTP, and the
checks before sending that read it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ledger_db import order, queued_feed, ship, take_in
from lifecycle_support import World, row

from feeds.spapi.orders import Money, Order
from processors.batcher import run_batch
from processors.ledger import orderfacts
from processors.ledger import orders as mirror
from processors.ledger.shipmethods import fill_ship_methods
from processors.ledger.store import Ledger
from processors.mirror import ITEMS_RESERVE, SYNC_EVERY

MARKET = "ATVPDKIKX0DER"
O1, O2 = "111-0000001-0000001", "111-0000002-0000001"
I1, I2 = "10000000000001", "10000000000002"


def _mirrored(w: World, order_id: str) -> mirror.MirroredOrder:
    return mirror.read(w.ledger, "acme", MARKET, [order_id])[order_id]


def test_the_mirror_holds_what_amazon_shows_of_an_order(world: World) -> None:
    ship_by = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    world.book.add_order(
        O1, [(I1, 2)], ship_service_level="Exp US D2D Dom", latest_ship_date=ship_by
    )
    world.mirror()
    got = _mirrored(world, O1)
    assert (got.status, got.ship_service_level, got.latest_ship_date) == (
        "Unshipped",
        "Exp US D2D Dom",
        ship_by,
    )
    assert (got.total_amount, got.total_currency) == ("39.98", "USD")


def test_orders_a_file_names_are_fetched_fifty_per_get_orders_call(world: World) -> None:
    world.mirror()  # the incremental read is done: new orders wait for the next one
    ids = [f"111-{n:07d}-0000001" for n in range(1, 121)]
    for order_id in ids:
        world.book.add_order(order_id, 1)
    world.drop("f.csv", [row(i) for i in ids])
    world.intake()
    result = world.mirror()
    assert result.by_id_calls == 3
    assert set(mirror.read(world.ledger, "acme", MARKET, ids)) == set(ids)


def test_an_order_amazon_does_not_know_is_recorded_as_not_found(world: World) -> None:
    world.drop("f.csv", [row(O1)])
    world.intake()
    world.mirror()
    assert mirror.not_found(world.ledger, "acme", MARKET, [O1]) == {O1}


def test_a_buyer_cancelling_between_intake_and_send_ends_the_line_cancelled_never_sent(
    world: World,
) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.mirror()  # Amazon shows it unshipped when the file comes in
    world.book.cancel(O1)
    world.clock.advance(SYNC_EVERY.total_seconds())
    world.until_settled()
    assert world.statuses() == {f"{O1}/{I1}": "cancelled"}
    assert world.sim.counters.feeds_created == 0
    assert world.sim.counters.confirmations == {}


def test_an_order_amazon_shows_shipped_is_confirmed_elsewhere_not_sent(world: World) -> None:
    order = world.book.add_order(O1, [(I1, 1)])
    order.items[0].quantity_shipped = 1
    order.refresh_status(datetime.now(UTC))
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.batch()
    line = world.all_lines()[0]
    assert (line.status, line.message) == (
        "confirmed",
        "Amazon already shows this order shipped; not sent again",
    )
    assert world.sim.counters.feeds_created == 0


def test_a_shipped_item_of_a_partially_shipped_order_is_confirmed_elsewhere(
    world: World,
) -> None:
    order = world.book.add_order(O1, [(I1, 1), (I2, 1)])
    order.items[0].quantity_shipped = 1
    order.refresh_status(datetime.now(UTC))
    world.drop("f.csv", [row(O1, I1, "1"), row(O1, I2, "1")])
    world.intake()
    world.batch()
    assert world.statuses() == {f"{O1}/{I1}": "confirmed", f"{O1}/{I2}": "submitted"}
    assert world.sim.counters.api_calls["getOrderItems"] == 1


def test_a_missing_ship_method_is_filled_from_the_ship_service_level(world: World) -> None:
    world.order(O1, [(I1, 1)], ship_service_level="Next US D2D Dom")
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.batch()
    assert world.all_lines()[0].ship_method == "Next US D2D Dom"


def test_the_batch_never_asks_amazon_about_orders(world: World) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    world.mirror()
    before = dict(world.sim.counters.api_calls)
    run_batch(world.ctx, world.seller)
    calls = world.sim.counters.api_calls
    assert [
        op for op in ("getOrder", "getOrders", "getOrderItems") if calls[op] != before.get(op, 0)
    ] == []


def test_a_line_whose_order_is_not_mirrored_waits_then_is_sent_anyway(world: World) -> None:
    world.order(O1, [(I1, 1)])
    world.drop("f.csv", [row(O1, I1, "1")])
    world.intake()
    run_batch(world.ctx, world.seller)  # no mirror pass yet: the line waits
    assert world.statuses() == {f"{O1}/{I1}": "in_queue"}
    world.clock.advance(world.ctx.settings.spapi.mirror_wait_seconds + 1)
    run_batch(world.ctx, world.seller)
    assert world.statuses() == {f"{O1}/{I1}": "submitted"}


def test_a_cut_short_paging_goes_on_with_its_token_at_the_next_pass(world: World) -> None:
    for n in range(250):
        world.book.add_order(f"222-{n:07d}-0000001", 1)
    limiter = world.ctx.client.limiter
    while limiter.available("getOrders") >= 2.0:
        limiter.acquire("getOrders")  # leave one call of the burst
    first = world.mirror()
    assert (first.calls, first.synced) == ({"getOrders": 1}, False)
    limiter.enabled = False
    second = world.mirror()
    assert (second.calls, second.synced) == ({"getOrders": 2}, True)
    assert (
        len(mirror.read(world.ledger, "acme", MARKET, [o.order_id for o in world.book.orders()]))
        == 250
    )


def _order(last_update: datetime, status: str) -> Order:
    return Order(
        order_id=O1,
        status=status,
        ship_service_level="Std US D2D Dom",
        shipment_service_level_category="Standard",
        purchase_date=last_update - timedelta(days=1),
        raw={},
        last_update_date=last_update,
        total=Money("10.00", "USD"),
    )


def _price_shown(w: World, order_id: str, item: str) -> Decimal | None:
    with w.ledger.reading() as conn:
        facts = orderfacts.for_orders(conn, [("acme", order_id)]).get(("acme", order_id))
    price = None if facts is None else facts.price_of(item)
    return None if price is None else Decimal(price.amount)


def test_the_mirror_reads_the_price_of_a_lines_item_for_the_console(world: World) -> None:
    world.book.add_order(O1, [(I1, 2)])
    world.drop("f.csv", [row(O1, I1, "2")])
    world.intake()
    world.mirror()
    amazon = world.book.get(O1)
    assert amazon is not None
    assert _price_shown(world, O1, I1) == amazon.items[0].price


def test_prices_for_the_console_leave_get_order_items_calls_for_the_checks(
    world: World,
) -> None:
    world.book.add_order(O1, [(I1, 2)])
    world.drop("f.csv", [row(O1, I1, "2")])
    world.intake()
    limiter = world.ctx.client.limiter
    while limiter.available("getOrderItems") >= 1.0 + ITEMS_RESERVE:
        limiter.acquire("getOrderItems")  # another step spent the burst
    world.mirror()
    assert world.sim.counters.api_calls["getOrderItems"] == 0
    assert _price_shown(world, O1, I1) is None


def test_saving_an_order_again_keeps_one_row_with_amazons_latest_answer(ledger: Ledger) -> None:
    t = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    mirror.save_orders(ledger, "acme", MARKET, [_order(t, "Unshipped")], t)
    mirror.save_orders(ledger, "acme", MARKET, [_order(t + timedelta(hours=1), "Canceled")], t)
    got = mirror.read(ledger, "acme", MARKET, [O1])
    assert [(o.status, o.last_update_date) for o in got.values()] == [
        ("Canceled", t + timedelta(hours=1))
    ]


def test_ship_methods_are_filled_only_on_lines_still_queued_and_unreserved(
    ledger: Ledger,
) -> None:
    take_in(ledger, [ship(2, order(1))], name="a.csv")
    _, reserved = queued_feed(ledger)
    take_in(ledger, [ship(2, order(2))], name="b.csv")
    (free,) = [ln.id for ln in ledger.queued_lines("acme", 10) if ln.id not in reserved]
    filled = fill_ship_methods(ledger, {reserved[0]: "Std US D2D Dom", free: "Std US D2D Dom"})
    assert filled == 1
    assert [ln.ship_method for ln in ledger.lines([reserved[0], free])] == [None, "Std US D2D Dom"]
