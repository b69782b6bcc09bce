"""Orders v0 over HTTP: finding orders, reading items, confirming packages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simulator_support import MARKETPLACE, ORDERS, UPS_TRACKING, Api, api_for, config, running

from feeds.simulator import OrderBook, Simulator

ORDER = "111-1111111-1111111"
ITEM = "11111111111111"
SINCE = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def book() -> OrderBook:
    b = OrderBook.generate(seed=7, count=25)
    b.add_order(ORDER, [(ITEM, 2)])
    b.add_order("222-2222222-2222222", [("22222222222222", 1)], status="Canceled")
    return b


@pytest.fixture
def sim(book: OrderBook) -> Iterator[Simulator]:
    with running(config(), book) as s:
        yield s


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    yield from api_for(sim)


def _confirm(api: Api, order_id: str = ORDER, ref: str = "1", qty: int = 1, **pkg: Any) -> Any:
    detail = {
        "packageReferenceId": ref,
        "carrierCode": "UPS",
        "trackingNumber": UPS_TRACKING,
        "shipDate": "2026-01-31T10:00:00Z",
        "orderItems": [{"orderItemId": ITEM, "quantity": qty}],
    }
    detail.update(pkg)
    return api.call(
        "confirmShipment",
        "POST",
        f"{ORDERS}/{order_id}/shipmentConfirmation",
        json={"marketplaceId": MARKETPLACE, "packageDetail": detail},
    )


def test_get_orders_requires_marketplace_ids(api: Api) -> None:
    r = api.call("getOrders", "GET", ORDERS, params={"CreatedAfter": SINCE})
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "InvalidInput"


def test_get_orders_requires_created_or_updated_after(api: Api) -> None:
    r = api.call("getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE})
    assert r.status_code == 400


def test_get_orders_filters_by_status(api: Api) -> None:
    r = api.call(
        "getOrders",
        "GET",
        ORDERS,
        params={"MarketplaceIds": MARKETPLACE, "CreatedAfter": SINCE, "OrderStatuses": "Canceled"},
    )
    assert [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]] == ["222-2222222-2222222"]


def test_get_orders_filters_by_created_after(api: Api) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = api.call(
        "getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE, "CreatedAfter": future}
    )
    assert r.json()["payload"]["Orders"] == []


def test_get_orders_last_updated_after_finds_newly_shipped(api: Api) -> None:
    mark = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _confirm(api).status_code == 204
    r = api.call(
        "getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE, "LastUpdatedAfter": mark}
    )
    assert [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]] == [ORDER]


def test_get_orders_pages_with_next_token(api: Api, book: OrderBook) -> None:
    params = {"MarketplaceIds": MARKETPLACE, "CreatedAfter": SINCE, "MaxResultsPerPage": "10"}
    r = api.call("getOrders", "GET", ORDERS, params=params)
    seen = [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]]
    while "NextToken" in r.json()["payload"]:
        token = r.json()["payload"]["NextToken"]
        r = api.call(
            "getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE, "NextToken": token}
        )
        seen += [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]]
    assert sorted(seen) == sorted(o.order_id for o in book.orders())


def test_get_order_returns_status_and_ship_service_level(api: Api) -> None:
    r = api.call("getOrder", "GET", f"{ORDERS}/{ORDER}")
    payload = r.json()["payload"]
    assert payload["OrderStatus"] == "Unshipped"
    assert payload["ShipServiceLevel"]
    assert payload["NumberOfItemsUnshipped"] == 2


def test_get_unknown_order_is_404(api: Api) -> None:
    r = api.call("getOrder", "GET", f"{ORDERS}/999-9999999-9999999")
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "NotFound"


def test_get_order_items_returns_quantities(api: Api) -> None:
    r = api.call("getOrderItems", "GET", f"{ORDERS}/{ORDER}/orderItems")
    items = r.json()["payload"]["OrderItems"]
    assert [(i["OrderItemId"], i["QuantityOrdered"], i["QuantityShipped"]) for i in items] == [
        (ITEM, 2, 0)
    ]


def test_confirm_shipment_ships_the_items(api: Api, book: OrderBook, sim: Simulator) -> None:
    assert _confirm(api, qty=2).status_code == 204
    order = book.get(ORDER)
    assert order is not None and order.status == "Shipped"
    assert order.shipments[0].package_reference_id == "1"
    assert sim.counters.confirmations[(ORDER, ITEM)] == 1


def test_confirm_shipment_same_package_reference_edits_not_duplicates(
    api: Api, book: OrderBook, sim: Simulator
) -> None:
    assert _confirm(api, qty=1).status_code == 204
    assert _confirm(api, qty=1, trackingNumber="1Z999AA10123456784").status_code == 204
    order = book.get(ORDER)
    assert order is not None
    assert order.item(ITEM).quantity_shipped == 1  # type: ignore[union-attr]
    assert len(order.shipments) == 1
    assert sim.counters.confirmations[(ORDER, ITEM)] == 1
    assert sim.counters.package_edits == 1


def test_confirm_shipment_same_package_reference_replaces_the_tracking_number(
    api: Api, book: OrderBook
) -> None:
    assert _confirm(api, qty=2).status_code == 204
    assert _confirm(api, qty=2, trackingNumber="1Z999AA10123456793").status_code == 204
    order = book.get(ORDER)
    assert order is not None
    assert [s.tracking_number for s in order.shipments] == ["1Z999AA10123456793"]


def test_confirm_shipment_new_package_for_shipped_item_is_400(api: Api) -> None:
    assert _confirm(api, qty=2).status_code == 204
    r = _confirm(api, ref="2", qty=1)
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "InvalidInput"


def test_confirm_shipment_on_cancelled_order_is_400(api: Api) -> None:
    r = _confirm(
        api,
        order_id="222-2222222-2222222",
        orderItems=[{"orderItemId": "22222222222222", "quantity": 1}],
    )
    assert r.status_code == 400
    assert "cancel" in r.json()["errors"][0]["message"]


def test_confirm_shipment_unknown_carrier_code_is_400(api: Api) -> None:
    assert _confirm(api, carrierCode="Speedy").status_code == 400


def test_confirm_shipment_tracking_not_fitting_carrier_is_400(api: Api) -> None:
    assert _confirm(api, trackingNumber="12345").status_code == 400


def test_confirm_shipment_missing_package_detail_is_400(api: Api) -> None:
    r = api.call(
        "confirmShipment",
        "POST",
        f"{ORDERS}/{ORDER}/shipmentConfirmation",
        json={"marketplaceId": MARKETPLACE},
    )
    assert r.status_code == 400


def test_confirm_shipment_unknown_order_is_404(api: Api) -> None:
    assert _confirm(api, order_id="999-9999999-9999999").status_code == 404


def test_confirm_shipment_auto_creates_unknown_order_when_asked() -> None:
    book = OrderBook()
    with running(config(auto_create_orders=True), book) as sim:
        for api in api_for(sim):
            assert _confirm(api, order_id="999-9999999-9999999").status_code == 204
            assert book.get("999-9999999-9999999").status == "Shipped"  # type: ignore[union-attr]


# -- what the order mirror reads (issue 11) ----------------------------------------------


def _orders(api: Api, **params: str) -> Any:
    return api.call("getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE, **params})


def test_get_orders_shows_the_order_total_and_the_ship_by_date(api: Api, book: OrderBook) -> None:
    shown = _orders(api, AmazonOrderIds=ORDER).json()["payload"]["Orders"][0]
    order = book.get(ORDER)
    assert order is not None
    assert shown["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "39.98"}
    assert shown["LatestShipDate"] == (order.purchase_date + timedelta(days=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_get_order_items_prices_each_item_for_its_quantity_ordered(api: Api) -> None:
    items = api.call("getOrderItems", "GET", f"{ORDERS}/{ORDER}/orderItems").json()["payload"]
    assert items["OrderItems"][0]["ItemPrice"] == {"CurrencyCode": "USD", "Amount": "39.98"}


def test_a_buyer_cancellation_moves_the_order_into_last_updated_after(
    api: Api, book: OrderBook
) -> None:
    mark = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    book.cancel(ORDER)
    shown = _orders(api, LastUpdatedAfter=mark).json()["payload"]["Orders"]
    assert [(o["AmazonOrderId"], o["OrderStatus"]) for o in shown] == [(ORDER, "Canceled")]


def test_get_orders_by_amazon_order_ids_answers_only_the_named_orders(
    api: Api, book: OrderBook
) -> None:
    named = [o.order_id for o in book.orders()][:3]
    shown = _orders(api, AmazonOrderIds=",".join(named)).json()["payload"]["Orders"]
    assert sorted(o["AmazonOrderId"] for o in shown) == sorted(named)


def test_get_orders_refuses_more_than_fifty_amazon_order_ids(api: Api) -> None:
    ids = ",".join(f"111-{n:07d}-0000001" for n in range(51))
    assert _orders(api, AmazonOrderIds=ids).status_code == 400


def test_get_orders_allows_its_burst_of_twenty_then_answers_429_with_its_rate() -> None:
    with running(config(enforce_rate_limits=True), OrderBook.generate(seed=1, count=3)) as sim:
        for api in api_for(sim):
            answers = [_orders(api, CreatedAfter=SINCE) for _ in range(21)]
            assert [a.status_code for a in answers] == [200] * 20 + [429]
            assert answers[20].headers["x-amzn-RateLimit-Limit"] == "0.0167"


def test_get_order_items_allows_its_burst_of_thirty_then_answers_429() -> None:
    book = OrderBook()
    book.add_order(ORDER, [(ITEM, 1)])
    with running(config(enforce_rate_limits=True), book) as sim:
        for api in api_for(sim):
            path = f"{ORDERS}/{ORDER}/orderItems"
            answers = [api.call("getOrderItems", "GET", path) for _ in range(31)]
            assert [a.status_code for a in answers] == [200] * 30 + [429]
            assert answers[30].headers["x-amzn-RateLimit-Limit"] == "0.5"
