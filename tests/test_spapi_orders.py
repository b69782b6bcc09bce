"""Orders v0: order look-ups with paging, and the direct confirmShipment path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from spapi_fakes import FakeAmazon, error, json_response

from feeds.model import Item, Package
from feeds.spapi.errors import AccessDenied, ShipmentRejected
from feeds.spapi.orders import CannotConfirmDirectly

ORDERS = "/orders/v0/orders"
ORDER_ID = "902-1106328-1059050"


def _order(order_id: str, status: str = "Unshipped") -> dict[str, object]:
    return {
        "AmazonOrderId": order_id,
        "PurchaseDate": "2026-02-27T08:00:00Z",
        "LastUpdateDate": "2026-02-27T09:00:00Z",
        "OrderStatus": status,
        "ShipServiceLevel": "Std US D2D Dom",
        "ShipmentServiceLevelCategory": "Standard",
    }


def _package(**changes: object) -> Package:
    values: dict[str, object] = {
        "order_id": ORDER_ID,
        "ship_date": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        "carrier_code": "UPS",
        "carrier_name": None,
        "tracking_number": "1Z999AA10123456784",
        "ship_method": "Ground",
        "items": (Item("79039765272157", 2),),
        "lines": (2,),
    }
    values.update(changes)
    return Package(**values)  # type: ignore[arg-type]


def test_get_orders_sends_filters_and_pages_with_next_token() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        ORDERS,
        json_response(200, {"payload": {"Orders": [_order("1")], "NextToken": "n2"}}),
        json_response(200, {"payload": {"Orders": [_order("2", "Shipped")]}}),
    )
    with amazon.client() as client:
        orders = list(
            client.orders.get_orders(
                marketplace_ids=["ATVPDKIKX0DER"],
                last_updated_after=datetime(2026, 2, 1, tzinfo=UTC),
                statuses=["Unshipped", "PartiallyShipped"],
            )
        )
    assert [(o.order_id, o.status) for o in orders] == [("1", "Unshipped"), ("2", "Shipped")]
    first, follow = (parse_qs(r.url.query.decode()) for r in amazon.calls("GET", ORDERS))
    assert first == {
        "MarketplaceIds": ["ATVPDKIKX0DER"],
        "LastUpdatedAfter": ["2026-02-01T00:00:00Z"],
        "OrderStatuses": ["Unshipped,PartiallyShipped"],
    }
    assert follow == {"MarketplaceIds": ["ATVPDKIKX0DER"], "NextToken": ["n2"]}


def test_get_orders_needs_created_after_or_last_updated_after() -> None:
    amazon = FakeAmazon()
    with amazon.client() as client, pytest.raises(ValueError):
        list(client.orders.get_orders(marketplace_ids=["ATVPDKIKX0DER"]))


def test_get_order_reads_status_and_ship_service_level() -> None:
    amazon = FakeAmazon()
    amazon.on("GET", f"{ORDERS}/{ORDER_ID}", json_response(200, {"payload": _order(ORDER_ID)}))
    with amazon.client() as client:
        order = client.orders.get_order(ORDER_ID)
    assert order.order_id == ORDER_ID and order.status == "Unshipped"
    assert order.ship_service_level == "Std US D2D Dom"
    assert order.shipment_service_level_category == "Standard"
    assert order.purchase_date == datetime(2026, 2, 27, 8, 0, tzinfo=UTC)
    assert order.raw["LastUpdateDate"] == "2026-02-27T09:00:00Z"


def test_get_order_items_follows_next_token() -> None:
    amazon = FakeAmazon()
    path = f"{ORDERS}/{ORDER_ID}/orderItems"
    amazon.on(
        "GET",
        path,
        json_response(
            200,
            {
                "payload": {
                    "AmazonOrderId": ORDER_ID,
                    "NextToken": "p2",
                    "OrderItems": [
                        {
                            "ASIN": "B0",
                            "OrderItemId": "11",
                            "SellerSKU": "SKU-1",
                            "QuantityOrdered": 3,
                            "QuantityShipped": 1,
                        }
                    ],
                }
            },
        ),
        json_response(
            200,
            {
                "payload": {
                    "AmazonOrderId": ORDER_ID,
                    "OrderItems": [{"ASIN": "B1", "OrderItemId": "12", "QuantityOrdered": 1}],
                }
            },
        ),
    )
    with amazon.client() as client:
        items = client.orders.get_order_items(ORDER_ID)
    assert [(i.order_item_id, i.quantity_ordered, i.quantity_shipped, i.sku) for i in items] == [
        ("11", 3, 1, "SKU-1"),
        ("12", 1, 0, None),
    ]
    assert parse_qs(amazon.calls("GET", path)[1].url.query.decode()) == {"NextToken": ["p2"]}


def test_confirm_shipment_posts_the_package_detail() -> None:
    amazon = FakeAmazon()
    path = f"{ORDERS}/{ORDER_ID}/shipmentConfirmation"
    amazon.on("POST", path, httpx.Response(204))
    with amazon.client() as client:
        client.orders.confirm_shipment(
            ORDER_ID, marketplace_id="ATVPDKIKX0DER", package=_package(), package_reference_id="1"
        )
    (req,) = amazon.calls("POST", path)
    assert json.loads(req.content) == {
        "marketplaceId": "ATVPDKIKX0DER",
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "UPS",
            "shippingMethod": "Ground",
            "trackingNumber": "1Z999AA10123456784",
            "shipDate": "2026-03-01T12:00:00Z",
            "orderItems": [{"orderItemId": "79039765272157", "quantity": 2}],
        },
    }


def test_confirm_shipment_of_whole_order_sends_unshipped_quantities() -> None:
    amazon = FakeAmazon()
    amazon.on(
        "GET",
        f"{ORDERS}/{ORDER_ID}/orderItems",
        json_response(
            200,
            {
                "payload": {
                    "AmazonOrderId": ORDER_ID,
                    "OrderItems": [
                        {
                            "ASIN": "B0",
                            "OrderItemId": "11",
                            "QuantityOrdered": 3,
                            "QuantityShipped": 1,
                        },
                        {
                            "ASIN": "B1",
                            "OrderItemId": "12",
                            "QuantityOrdered": 1,
                            "QuantityShipped": 1,
                        },
                    ],
                }
            },
        ),
    )
    path = f"{ORDERS}/{ORDER_ID}/shipmentConfirmation"
    amazon.on("POST", path, httpx.Response(204))
    with amazon.client() as client:
        client.orders.confirm_shipment(
            ORDER_ID,
            marketplace_id="ATVPDKIKX0DER",
            package=_package(items=(), carrier_code=None, carrier_name="Local Courier"),
            package_reference_id="7",
        )
    detail = json.loads(amazon.calls("POST", path)[0].content)["packageDetail"]
    assert detail["orderItems"] == [{"orderItemId": "11", "quantity": 2}]
    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Local Courier")


def test_confirm_shipment_without_tracking_is_refused_before_calling_amazon() -> None:
    amazon = FakeAmazon()
    with amazon.client() as client, pytest.raises(CannotConfirmDirectly):
        client.orders.confirm_shipment(
            ORDER_ID,
            marketplace_id="ATVPDKIKX0DER",
            package=_package(tracking_number=None, ship_method=None),
            package_reference_id="1",
        )
    assert amazon.requests == []


@pytest.mark.parametrize("status", [400, 404])
def test_confirm_shipment_refused_as_sent_is_a_shipment_rejected(status: int) -> None:
    amazon = FakeAmazon()
    path = f"{ORDERS}/{ORDER_ID}/shipmentConfirmation"
    amazon.on("POST", path, error(status, "InvalidInput", "Invalid Input"))
    with amazon.client() as client, pytest.raises(ShipmentRejected) as refused:
        client.orders.confirm_shipment(
            ORDER_ID, marketplace_id="ATVPDKIKX0DER", package=_package(), package_reference_id="1"
        )
    assert (refused.value.status, refused.value.code) == (status, "InvalidInput")


def test_confirm_shipment_denied_stays_access_denied_not_a_verdict() -> None:
    amazon = FakeAmazon()
    path = f"{ORDERS}/{ORDER_ID}/shipmentConfirmation"
    denied = error(403, "AccessDenied", "Access to requested resource is denied.")
    amazon.on("POST", path, denied, denied)
    with amazon.client() as client, pytest.raises(AccessDenied):
        client.orders.confirm_shipment(
            ORDER_ID, marketplace_id="ATVPDKIKX0DER", package=_package(), package_reference_id="1"
        )
