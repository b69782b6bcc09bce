"""Orders v0: look orders up before sending, and confirm a few shipments directly.

Looking up tells shipfeed whether an order was cancelled or already shipped (so it is not
sent), and which ship service level the buyer chose (sent when the seller gave none).
``confirm_shipment`` is the direct path for a handful of orders, where waiting for the
next feed would be slower than Amazon's per-call limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from feeds.errors import TerminalError
from feeds.model import Package
from feeds.spapi.errors import InvalidRequest, NotFound, ShipmentRejected, SpApiTerminalError
from feeds.spapi.feeds import iso8601, parse_time
from feeds.spapi.transport import SpApiTransport

BASE = "/orders/v0/orders"
#: getOrders names at most this many orders per call (AmazonOrderIds).
MAX_ORDER_IDS = 50


class CannotConfirmDirectly(TerminalError):
    """confirmShipment needs what a feed can do without (e.g. a tracking number)."""


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str
    ship_service_level: str | None
    shipment_service_level_category: str | None
    purchase_date: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    last_update_date: datetime | None = None
    latest_ship_date: datetime | None = None
    total: Money | None = None
    units_shipped: int | None = None  # NumberOfItemsShipped
    units_unshipped: int | None = None  # NumberOfItemsUnshipped


@dataclass(frozen=True)
class Money:
    """Amazon's Money, the amount kept as the decimal string Amazon wrote."""

    amount: str
    currency: str


def _money(data: Any) -> Money | None:
    if not isinstance(data, dict) or data.get("Amount") in (None, ""):
        return None
    return Money(str(data["Amount"]), str(data.get("CurrencyCode") or ""))


@dataclass(frozen=True)
class OrderItem:
    order_item_id: str
    quantity_ordered: int
    quantity_shipped: int
    sku: str | None
    price: Money | None = None

    @property
    def quantity_unshipped(self) -> int:
        return max(0, self.quantity_ordered - self.quantity_shipped)


def _order(data: Any, operation: str) -> Order:
    if not isinstance(data, dict) or not data.get("AmazonOrderId"):
        raise SpApiTerminalError(
            f"Amazon answered {operation} with an order shipfeed cannot read",
            operation=operation,
            hint="report this to the shipfeed maintainers",
        )
    return Order(
        order_id=str(data["AmazonOrderId"]),
        status=str(data.get("OrderStatus", "")),
        ship_service_level=data.get("ShipServiceLevel") or None,
        shipment_service_level_category=data.get("ShipmentServiceLevelCategory") or None,
        purchase_date=parse_time(data.get("PurchaseDate")),
        raw=data,
        last_update_date=parse_time(data.get("LastUpdateDate")),
        latest_ship_date=parse_time(data.get("LatestShipDate")),
        total=_money(data.get("OrderTotal")),
        units_shipped=_count(data.get("NumberOfItemsShipped")),
        units_unshipped=_count(data.get("NumberOfItemsUnshipped")),
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _payload(body: Any) -> dict[str, Any]:
    payload = body.get("payload") if isinstance(body, dict) else None
    return payload if isinstance(payload, dict) else {}


class OrdersApi:
    def __init__(self, transport: SpApiTransport) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return "OrdersApi()"

    def get_orders(
        self,
        *,
        marketplace_ids: list[str],
        created_after: datetime | None = None,
        last_updated_after: datetime | None = None,
        statuses: list[str] | None = None,
    ) -> Iterator[Order]:
        """Orders page by page (NextToken), lazily: stop iterating to stop calling."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("getOrders needs exactly one of created_after, last_updated_after")
        params: dict[str, str] = {"MarketplaceIds": ",".join(marketplace_ids)}
        if created_after is not None:
            params["CreatedAfter"] = iso8601(created_after)
        if last_updated_after is not None:
            params["LastUpdatedAfter"] = iso8601(last_updated_after)
        if statuses:
            params["OrderStatuses"] = ",".join(statuses)
        while True:
            payload = _payload(self._t.call("getOrders", "GET", BASE, params=params))
            for data in payload.get("Orders") or []:
                yield _order(data, "getOrders")
            token = payload.get("NextToken")
            if not token:
                return
            # Amazon: with NextToken the filters come from the first call; keep the ids.
            params = {"MarketplaceIds": params["MarketplaceIds"], "NextToken": str(token)}

    def get_orders_page(
        self,
        *,
        marketplace_ids: list[str],
        last_updated_after: datetime | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Order], str | None]:
        """One getOrders page: the first of a LastUpdatedAfter query, or the page a
        NextToken names. One call each, so a caller pacing itself by getOrders' rate (the
        order mirror) can stop between pages and go on later with the token."""
        params: dict[str, str] = {"MarketplaceIds": ",".join(marketplace_ids)}
        if next_token is not None:
            params["NextToken"] = next_token
        elif last_updated_after is not None:
            params["LastUpdatedAfter"] = iso8601(last_updated_after)
        else:
            raise ValueError("a getOrders page needs last_updated_after or next_token")
        payload = _payload(self._t.call("getOrders", "GET", BASE, params=params))
        found = [_order(data, "getOrders") for data in payload.get("Orders") or []]
        token = payload.get("NextToken")
        return found, str(token) if token else None

    def get_orders_by_id(
        self, order_ids: Sequence[str], *, marketplace_ids: list[str]
    ) -> list[Order]:
        """Up to 50 named orders in one getOrders call (AmazonOrderIds): checking a feed's
        orders one getOrder each would take an hour for 2,000 at its rate. An order Amazon
        does not know is simply absent from the answer."""
        if not 0 < len(order_ids) <= MAX_ORDER_IDS:
            raise ValueError(f"getOrders takes 1 to {MAX_ORDER_IDS} AmazonOrderIds")
        params: dict[str, str] = {
            "MarketplaceIds": ",".join(marketplace_ids),
            "AmazonOrderIds": ",".join(order_ids),
        }
        out: list[Order] = []
        while True:
            payload = _payload(self._t.call("getOrders", "GET", BASE, params=params))
            out.extend(_order(data, "getOrders") for data in payload.get("Orders") or [])
            token = payload.get("NextToken")
            if not token:
                return out
            params = {"MarketplaceIds": params["MarketplaceIds"], "NextToken": str(token)}

    def get_order(self, order_id: str) -> Order:
        body = self._t.call("getOrder", "GET", f"{BASE}/{quote(order_id, safe='')}")
        return _order(_payload(body), "getOrder")

    def get_order_items(self, order_id: str) -> list[OrderItem]:
        items: list[OrderItem] = []
        params: dict[str, str] | None = None
        path = f"{BASE}/{quote(order_id, safe='')}/orderItems"
        while True:
            payload = _payload(self._t.call("getOrderItems", "GET", path, params=params))
            for data in payload.get("OrderItems") or []:
                if not isinstance(data, dict) or not data.get("OrderItemId"):
                    continue
                items.append(
                    OrderItem(
                        order_item_id=str(data["OrderItemId"]),
                        quantity_ordered=_int(data.get("QuantityOrdered")),
                        quantity_shipped=_int(data.get("QuantityShipped")),
                        sku=data.get("SellerSKU") or None,
                        price=_money(data.get("ItemPrice")),
                    )
                )
            token = payload.get("NextToken")
            if not token:
                return items
            params = {"NextToken": str(token)}

    def confirm_shipment(
        self,
        order_id: str,
        *,
        marketplace_id: str,
        package: Package,
        package_reference_id: str,
    ) -> None:
        """Confirm one package of an order; 204 means Amazon took it.

        Amazon's rule: sending the same ``package_reference_id`` again for the order
        edits that package instead of adding another, so a retry after a lost answer is
        safe, which is why the caller must derive the id from the package, not a counter.
        A package without items (or without quantities) confirms what is still
        unshipped, read from getOrderItems, because the API wants explicit quantities.

        A 400 or 404 here is Amazon's verdict on this shipment (an order or item it does
        not know, a quantity or tracking number it will not take): ShipmentRejected, the
        one answer that may put the lines in ``error``. Every other failure (login, role,
        throttling) says nothing about the shipment and keeps its own class.
        """
        try:
            self._confirm(order_id, marketplace_id, package, package_reference_id)
        except (InvalidRequest, NotFound) as exc:
            if exc.status not in (400, 404):
                raise
            raise ShipmentRejected(
                f"Amazon refused the shipment of order {order_id} ({exc.code or exc.status}: "
                f"{exc.amazon_message or 'no message'})",
                operation=exc.operation,
                status=exc.status,
                code=exc.code,
                amazon_message=exc.amazon_message,
                details=exc.details,
                hint="correct the line as Amazon's message says and send it again",
            ) from exc

    def _confirm(
        self, order_id: str, marketplace_id: str, package: Package, package_reference_id: str
    ) -> None:
        if not package_reference_id.isdigit() or int(package_reference_id) <= 0:
            raise ValueError("packageReferenceId must be a positive number, as Amazon requires")
        if not package.tracking_number:
            raise CannotConfirmDirectly(
                f"order {order_id}: confirmShipment needs a tracking number",
                hint="shipfeed sends orders without tracking through the feed instead",
            )
        detail: dict[str, Any] = {
            "packageReferenceId": package_reference_id,
            # "Other" plus a free-text carrierName is how Amazon takes carriers
            # without a code.
            "carrierCode": package.carrier_code or "Other",
            "trackingNumber": package.tracking_number,
            "shipDate": iso8601(package.ship_date),
            "orderItems": self._items(order_id, package),
        }
        if package.carrier_name:
            detail["carrierName"] = package.carrier_name
        if package.ship_method:
            detail["shippingMethod"] = package.ship_method
        self._t.call(
            "confirmShipment",
            "POST",
            f"{BASE}/{quote(order_id, safe='')}/shipmentConfirmation",
            json={"marketplaceId": marketplace_id, "packageDetail": detail},
        )

    def _items(self, order_id: str, package: Package) -> list[dict[str, Any]]:
        if package.items and all(i.quantity is not None for i in package.items):
            return [{"orderItemId": i.order_item_id, "quantity": i.quantity} for i in package.items]
        unshipped = {i.order_item_id: i.quantity_unshipped for i in self.get_order_items(order_id)}
        if package.items:
            wanted = [
                (
                    i.order_item_id,
                    i.quantity if i.quantity is not None else unshipped.get(i.order_item_id, 0),
                )
                for i in package.items
            ]
        else:
            wanted = list(unshipped.items())
        lines = [{"orderItemId": item, "quantity": qty} for item, qty in wanted if qty > 0]
        if not lines:
            raise CannotConfirmDirectly(
                f"order {order_id}: Amazon shows nothing left to ship",
                hint="the order may already be confirmed or cancelled; check Seller Central",
            )
        return lines
