"""Orders API v0 as far as shipping needs it: find orders, read items, confirm a package.

confirmShipment follows Amazon's packageReferenceId rule: the same reference again for the
same order edits that package (carrier, tracking, items) instead of shipping more, so a
client retrying after a lost answer does not ship twice.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from feeds.simulator.orderbook import Order, ShipmentRecord, iso, parse_iso
from feeds.simulator.state import SimState
from feeds.simulator.wire import Answer, BadInput, NotFound, Request, json_answer

ORDER_STATUSES = (
    "PendingAvailability",
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
)
_CATEGORY = {
    "Std US D2D Dom": "Standard",
    "Exp US D2D Dom": "Expedited",
    "Second US D2D Dom": "SecondDay",
    "Next US D2D Dom": "NextDay",
}


def order_json(order: Order) -> dict[str, Any]:
    shipped = sum(i.quantity_shipped for i in order.items)
    unshipped = sum(i.unshipped for i in order.items) if order.status != "Canceled" else 0
    extra: dict[str, Any] = {}
    if order.buyer_email:
        extra["BuyerInfo"] = {"BuyerEmail": order.buyer_email}
    return extra | {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": iso(order.purchase_date),
        "LastUpdateDate": iso(order.last_update),
        "OrderStatus": order.status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": order.ship_service_level,
        "ShipmentServiceLevelCategory": _CATEGORY.get(order.ship_service_level, "Standard"),
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": unshipped,
        "MarketplaceId": order.marketplace_id,
        "OrderTotal": money(order.total, order.currency),
        "LatestShipDate": iso(order.ship_by),
        "EarliestShipDate": iso(order.purchase_date),
        "OrderType": "StandardOrder",
        "IsPrime": False,
        "IsBusinessOrder": False,
        "IsPremiumOrder": False,
        "IsReplacementOrder": False,
    }


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """Amazon's Money: the amount as a decimal string with cents, never a float."""
    return {"CurrencyCode": currency, "Amount": f"{amount.quantize(Decimal('0.01'))}"}


def _order(sim: SimState, order_id: str) -> Order:
    if sim.config.auto_create_orders:
        return sim.orderbook.ensure_order(order_id, [])
    order = sim.orderbook.get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found.")
    return order


def get_orders(sim: SimState, req: Request) -> Answer:
    marketplaces = req.many("MarketplaceIds")
    if not marketplaces:
        raise BadInput("Missing required 'MarketplaceIds'.")
    if len(marketplaces) > 50:
        raise BadInput("MarketplaceIds may list at most 50 marketplaces.")
    token = req.one("NextToken")
    if token is not None:
        with sim.lock:
            page = sim.page_tokens.get(token)
        if page is None:
            raise BadInput("Invalid NextToken.")
        ids, offset, size = page
    else:
        ids, size = (
            _select_orders(sim, req, marketplaces),
            req.integer("MaxResultsPerPage", 1, 100, 100),
        )
        offset = 0
    payload: dict[str, Any] = {"Orders": []}
    with sim.orderbook.lock:
        for order_id in ids[offset : offset + size]:
            order = sim.orderbook.get(order_id)
            if order is not None:
                payload["Orders"].append(order_json(order))
    if offset + size < len(ids):
        next_token = secrets.token_urlsafe(24)
        with sim.lock:
            sim.page_tokens[next_token] = (ids, offset + size, size)
        payload["NextToken"] = next_token
    return json_answer(200, {"payload": payload})


def _select_orders(sim: SimState, req: Request, marketplaces: list[str]) -> list[str]:
    created_after = req.date("CreatedAfter")
    created_before = req.date("CreatedBefore")
    updated_after = req.date("LastUpdatedAfter")
    updated_before = req.date("LastUpdatedBefore")
    order_ids = req.many("AmazonOrderIds")
    if order_ids is not None and len(order_ids) > 50:
        raise BadInput("AmazonOrderIds may list at most 50 order ids.")
    if not order_ids and created_after is None and updated_after is None:
        raise BadInput("Either CreatedAfter or LastUpdatedAfter is required.")
    if created_after is not None and updated_after is not None:
        raise BadInput("CreatedAfter and LastUpdatedAfter cannot both be given.")
    if updated_before is not None and updated_after is None:
        raise BadInput("LastUpdatedBefore needs LastUpdatedAfter.")
    statuses = req.many("OrderStatuses")
    if statuses is not None:
        unknown = [s for s in statuses if s not in ORDER_STATUSES]
        if unknown:
            raise BadInput(f"Invalid OrderStatuses {unknown}.")
    if order_ids and sim.config.auto_create_orders:
        for order_id in order_ids:  # as getOrder does: a named order exists
            sim.orderbook.ensure_order(order_id, [], marketplaces[0])
    chosen = []
    for o in sim.orderbook.orders():
        if o.marketplace_id not in marketplaces:
            continue
        if order_ids and o.order_id not in order_ids:
            continue
        if statuses is not None and o.status not in statuses:
            continue
        if created_after is not None and o.purchase_date < created_after:
            continue
        if created_before is not None and o.purchase_date > created_before:
            continue
        if updated_after is not None and o.last_update < updated_after:
            continue
        if updated_before is not None and o.last_update > updated_before:
            continue
        chosen.append(o.order_id)
    return chosen


def get_order(sim: SimState, req: Request) -> Answer:
    with sim.orderbook.lock:
        order = _order(sim, req.params["orderId"])
        return json_answer(200, {"payload": order_json(order)})


def get_order_items(sim: SimState, req: Request) -> Answer:
    with sim.orderbook.lock:
        order = _order(sim, req.params["orderId"])
        items = [
            {
                "ASIN": i.asin,
                "SellerSKU": i.sku,
                "OrderItemId": i.order_item_id,
                "Title": i.title,
                "QuantityOrdered": i.quantity_ordered,
                "QuantityShipped": i.quantity_shipped,
                "ItemPrice": money(i.price, order.currency),
            }
            for i in order.items
        ]
        return json_answer(200, {"payload": {"AmazonOrderId": order.order_id, "OrderItems": items}})


def _package(body: Any) -> tuple[str, dict[str, Any], list[tuple[str, int]]]:
    """Validate a ConfirmShipmentRequest; returns (marketplace, packageDetail, items)."""
    if not isinstance(body, dict):
        raise BadInput("The request body must be a ConfirmShipmentRequest object.")
    marketplace = body.get("marketplaceId")
    pkg = body.get("packageDetail")
    if not isinstance(marketplace, str) or not marketplace:
        raise BadInput("marketplaceId is required.")
    if not isinstance(pkg, dict):
        raise BadInput("packageDetail is required.")
    for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
        if not isinstance(pkg.get(name), str) or not pkg[name]:
            raise BadInput(f"packageDetail.{name} is required.")
    if not pkg["packageReferenceId"].isdigit() or int(pkg["packageReferenceId"]) <= 0:
        raise BadInput("packageReferenceId must be a positive number.")
    try:
        parse_iso(pkg["shipDate"])
    except ValueError:
        raise BadInput(f"shipDate {pkg['shipDate']!r} is not an ISO 8601 date-time.") from None
    raw_items = pkg.get("orderItems")
    if not isinstance(raw_items, list) or not raw_items:
        raise BadInput("packageDetail.orderItems must list at least one item.")
    items: dict[str, int] = {}
    for it in raw_items:
        if (
            not isinstance(it, dict)
            or not isinstance(it.get("orderItemId"), str)
            or not isinstance(it.get("quantity"), int)
            or isinstance(it.get("quantity"), bool)
            or it["quantity"] <= 0
        ):
            raise BadInput("Each order item needs an orderItemId and a positive quantity.")
        items[it["orderItemId"]] = items.get(it["orderItemId"], 0) + it["quantity"]
    return marketplace, pkg, list(items.items())


def confirm_shipment(sim: SimState, req: Request) -> Answer:
    from feeds.carriers import CARRIER_CODE_SET, tracking_fits  # lazy: the one carrier list

    order_id = req.params["orderId"]
    marketplace, pkg, items = _package(req.json())
    carrier = pkg["carrierCode"]
    if carrier not in CARRIER_CODE_SET:
        raise BadInput(
            f"carrierCode {carrier!r} is not one of Amazon's carrier codes; use "
            "'Other' with carrierName."
        )
    if carrier in ("Other", "Otro") and not pkg.get("carrierName"):
        raise BadInput("carrierName is required when carrierCode is Other.")
    tracking = pkg["trackingNumber"]
    if (
        sim.config.strict_tracking
        and tracking_fits(carrier, tracking.replace(" ", "").upper()) is False
    ):
        raise BadInput(
            f"The tracking ID {tracking} does not match the expected format for "
            f"the carrier {carrier}."
        )
    with sim.orderbook.lock:
        if sim.config.auto_create_orders:
            sim.orderbook.ensure_order(order_id, items, marketplace)
        order = sim.orderbook.get(order_id)
        if order is None:
            raise NotFound(f"Order {order_id} not found.")
        if order.marketplace_id != marketplace:
            raise BadInput(f"Order {order_id} does not belong to marketplace {marketplace}.")
        if order.status == "Canceled":
            raise BadInput(f"Order {order_id} is cancelled and cannot be confirmed.")
        ref = pkg["packageReferenceId"]
        previous = next((s for s in order.shipments if s.package_reference_id == ref), None)
        earlier = dict(previous.items) if previous else {}
        for item_id, qty in items:
            item = order.item(item_id)
            if item is None:
                raise BadInput(f"Order item {item_id} does not belong to order {order_id}.")
            if qty > item.unshipped + earlier.get(item_id, 0):
                raise BadInput(
                    f"Order item {item_id} of order {order_id} has "
                    f"{item.unshipped + earlier.get(item_id, 0)} unit(s) left to ship; "
                    f"{qty} cannot be confirmed (already shipped?)."
                )
        record = ShipmentRecord(
            items=items,
            ship_date=pkg["shipDate"],
            carrier_code=carrier,
            carrier_name=pkg.get("carrierName"),
            shipping_method=pkg.get("shippingMethod"),
            tracking_number=tracking,
            package_reference_id=ref,
        )
        if previous is not None:
            for item_id, qty in previous.items:
                prev_item = order.item(item_id)
                if prev_item is not None:
                    prev_item.quantity_shipped -= qty
            order.shipments[order.shipments.index(previous)] = record
            sim.counters.add(package_edits=1)
        else:
            order.shipments.append(record)
        for item_id, qty in items:
            item = order.item(item_id)
            assert item is not None
            item.quantity_shipped += qty
        order.placeholder = False
        order.refresh_status(datetime.now(UTC))
        new_items = [(i, q) for i, q in items if i not in earlier]
        if new_items:
            sim.counters.confirmed(order_id, new_items, req.partner)
    return Answer(204, b"", "application/json")
