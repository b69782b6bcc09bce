"""Every JSON answer the simulator gives matches Amazon's official models.

One tour drives every operation through its success and error paths (bad input, not
found, unauthorised, throttled, server errors); each recorded answer is then validated
against the schema the model documents for that operation and status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simulator_support import (
    FEEDS,
    MARKETPLACE,
    ORDERS,
    UPS_TRACKING,
    XML_TYPE,
    Api,
    Msg,
    api_for,
    assert_matches_model,
    config,
    feed_xml,
    running,
)

from feeds.simulator import FaultConfig, OrderBook

ORDER = "111-1111111-1111111"
ITEM = "11111111111111"
OPERATIONS = (
    "createFeedDocument",
    "createFeed",
    "getFeed",
    "getFeeds",
    "cancelFeed",
    "getFeedDocument",
    "getOrders",
    "getOrder",
    "getOrderItems",
    "confirmShipment",
)


def _confirm_body(**pkg: Any) -> dict[str, Any]:
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": UPS_TRACKING,
        "shipDate": "2026-01-31T10:00:00Z",
        "orderItems": [{"orderItemId": ITEM, "quantity": 1}],
    }
    detail.update(pkg)
    return {"marketplaceId": MARKETPLACE, "packageDetail": detail}


def _tour(api: Api) -> None:
    c = api.call
    good = api.submit(feed_xml(Msg(ORDER, [(ITEM, 1)])))
    c("getFeed", "GET", f"{FEEDS}/feeds/{good}")
    c("getFeed", "GET", f"{FEEDS}/feeds/0")
    result = c("getFeed", "GET", f"{FEEDS}/feeds/{good}").json()["resultFeedDocumentId"]
    c("getFeedDocument", "GET", f"{FEEDS}/documents/{result}")
    c("getFeedDocument", "GET", f"{FEEDS}/documents/nope")
    c(
        "getFeeds",
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA", "pageSize": 1},
    )
    c("getFeeds", "GET", f"{FEEDS}/feeds")
    c("createFeedDocument", "POST", f"{FEEDS}/documents", json={"nope": 1})
    c("createFeed", "POST", f"{FEEDS}/feeds", json={"feedType": "X"})
    c("cancelFeed", "DELETE", f"{FEEDS}/feeds/{good}")
    c("cancelFeed", "DELETE", f"{FEEDS}/feeds/0")
    since = "2020-01-01T00:00:00Z"
    c("getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE, "CreatedAfter": since})
    c("getOrders", "GET", ORDERS, params={"CreatedAfter": since})
    c("getOrder", "GET", f"{ORDERS}/{ORDER}")
    c("getOrder", "GET", f"{ORDERS}/999-9999999-9999999")
    c("getOrderItems", "GET", f"{ORDERS}/{ORDER}/orderItems")
    c("getOrderItems", "GET", f"{ORDERS}/999-9999999-9999999/orderItems")
    c(
        "confirmShipment",
        "POST",
        f"{ORDERS}/222-2222222-2222222/shipmentConfirmation",
        json=_confirm_body(orderItems=[{"orderItemId": "22222222222222", "quantity": 1}]),
    )
    c(
        "confirmShipment",
        "POST",
        f"{ORDERS}/222-2222222-2222222/shipmentConfirmation",
        json=_confirm_body(orderItems=[{"orderItemId": "22222222222222", "quantity": 5}]),
    )
    c(
        "confirmShipment",
        "POST",
        f"{ORDERS}/999-9999999-9999999/shipmentConfirmation",
        json=_confirm_body(),
    )
    # Unauthorised answers are the same for every operation; four of them are toured.
    token = api.token
    api.token = ""
    for op, method, path in (
        ("getFeeds", "GET", f"{FEEDS}/feeds"),
        ("getOrder", "GET", f"{ORDERS}/{ORDER}"),
        ("confirmShipment", "POST", f"{ORDERS}/{ORDER}/shipmentConfirmation"),
        ("createFeedDocument", "POST", f"{FEEDS}/documents"),
    ):
        c(op, method, path)
    api.token = token


def _faulted_tour(api: Api) -> None:
    """Every operation once per injected fault status: 500, 503, 429."""
    for _ in range(3):
        api.call("createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": XML_TYPE})
        api.call("createFeed", "POST", f"{FEEDS}/feeds", json={})
        api.call("getFeed", "GET", f"{FEEDS}/feeds/1")
        api.call("getFeeds", "GET", f"{FEEDS}/feeds", params={"feedTypes": "X"})
        api.call("cancelFeed", "DELETE", f"{FEEDS}/feeds/1")
        api.call("getFeedDocument", "GET", f"{FEEDS}/documents/x")
        api.call("getOrders", "GET", ORDERS, params={"MarketplaceIds": MARKETPLACE})
        api.call("getOrder", "GET", f"{ORDERS}/{ORDER}")
        api.call("getOrderItems", "GET", f"{ORDERS}/{ORDER}/orderItems")
        api.call("confirmShipment", "POST", f"{ORDERS}/{ORDER}/shipmentConfirmation", json={})
    queued = api.submit(feed_xml(Msg(ORDER)))  # the delay keeps it IN_QUEUE: cancellable
    api.call("cancelFeed", "DELETE", f"{FEEDS}/feeds/{queued}")


@pytest.fixture(scope="module")
def seen() -> Iterator[list[tuple[str, int, Any]]]:
    book = OrderBook()
    book.add_order(ORDER, [(ITEM, 2)])
    book.add_order("222-2222222-2222222", [("22222222222222", 1)])
    with running(config(), book) as sim:
        for api in api_for(sim):
            _tour(api)
            answers = list(api.seen)
    faults = FaultConfig()
    for op in OPERATIONS:
        for kind in ("error500", "error503", "throttle"):
            faults.trigger(kind, op)
    with running(config(faults=faults, processing_delay=60), OrderBook()) as sim:
        for api in api_for(sim):
            _faulted_tour(api)
            answers += api.seen
    yield answers


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_answer_matches_the_official_model(
    operation: str, seen: list[tuple[str, int, Any]]
) -> None:
    mine = [(status, body) for op, status, body in seen if op == operation]
    statuses = {status for status, _ in mine}
    assert any(s < 300 for s in statuses), f"{operation}: no success answer was toured"
    assert {429, 500, 503} <= statuses, f"{operation}: fault answers not toured"
    assert any(s in (400, 404) for s in statuses), f"{operation}: no input error toured"
    for status, body in mine:
        assert_matches_model(operation, status, body)


def test_the_model_rejects_a_wrong_shape() -> None:
    with pytest.raises(Exception, match="required"):
        assert_matches_model("getFeed", 200, {"feedId": "1"})
