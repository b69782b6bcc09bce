"""What the simulated Amazon believes about a seller's orders.

Tests read it back to check the outcome a seller cares about (is the order shipped on
Amazon, with which tracking number), so every confirmation is recorded as a shipment,
not only as changed quantities.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"
SHIP_SERVICE_LEVELS = ("Std US D2D Dom", "Exp US D2D Dom", "Second US D2D Dom", "Next US D2D Dom")
STATUSES = ("Unshipped", "PartiallyShipped", "Shipped", "Canceled")
#: Days from purchase to the ship-by date of an order made without one.
SHIP_WITHIN_DAYS = 2
#: Price of one unit of an item made without one (a decimal string, as Amazon sends money).
DEFAULT_UNIT_PRICE = "19.99"


def iso(ts: datetime) -> str:
    """Amazon's timestamp spelling: UTC, seconds, Z."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """ISO 8601 with Z or an offset; naive means UTC (as Amazon reads it)."""
    ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass
class OrderItem:
    order_item_id: str
    quantity_ordered: int
    quantity_shipped: int = 0
    asin: str = "B000000000"
    sku: str = "SKU"
    title: str = "Simulated item"
    unit_price: str = DEFAULT_UNIT_PRICE

    @property
    def unshipped(self) -> int:
        return self.quantity_ordered - self.quantity_shipped

    @property
    def price(self) -> Decimal:
        """Amazon's ItemPrice: the unit price times the quantity ordered."""
        return Decimal(self.unit_price) * self.quantity_ordered


@dataclass
class ShipmentRecord:
    """One accepted confirmation: a feed message or a confirmShipment package."""

    items: list[tuple[str, int]]
    ship_date: str
    carrier_code: str | None = None
    carrier_name: str | None = None
    shipping_method: str | None = None
    tracking_number: str | None = None
    feed_id: str | None = None
    package_reference_id: str | None = None


@dataclass
class Order:
    order_id: str
    items: list[OrderItem]
    purchase_date: datetime
    last_update: datetime
    status: str = "Unshipped"
    ship_service_level: str = SHIP_SERVICE_LEVELS[0]
    marketplace_id: str = DEFAULT_MARKETPLACE
    shipments: list[ShipmentRecord] = field(default_factory=list)
    auto_created: bool = False  # made up on first sight; grows items later feeds name
    placeholder: bool = False  # made up by a lookup naming no items: its one item is a guess
    buyer_email: str | None = None  # Amazon's anonymised relay address, when shown
    latest_ship_date: datetime | None = None  # ship-by; None: SHIP_WITHIN_DAYS after purchase
    currency: str = "USD"

    @property
    def ship_by(self) -> datetime:
        return self.latest_ship_date or self.purchase_date + timedelta(days=SHIP_WITHIN_DAYS)

    @property
    def total(self) -> Decimal:
        return sum((i.price for i in self.items), Decimal("0"))

    def item(self, order_item_id: str) -> OrderItem | None:
        return next((i for i in self.items if i.order_item_id == order_item_id), None)

    def refresh_status(self, now: datetime) -> None:
        """Recompute the status from quantities, as Amazon does after a confirmation."""
        if self.status == "Canceled":
            return
        shipped = sum(i.quantity_shipped for i in self.items)
        total = sum(i.quantity_ordered for i in self.items)
        new = "Unshipped" if shipped == 0 else "Shipped" if shipped >= total else "PartiallyShipped"
        if new != self.status:
            self.status = new
        self.last_update = now

    def cancel_by_buyer(self, now: datetime) -> None:
        """The buyer cancels before anything shipped: Amazon shows Canceled from now on."""
        if any(i.quantity_shipped for i in self.items):
            raise ValueError(f"order {self.order_id} has shipped items; a buyer cannot cancel")
        self.status = "Canceled"
        self.last_update = now

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["purchase_date"] = iso(self.purchase_date)
        data["last_update"] = iso(self.last_update)
        data["latest_ship_date"] = iso(self.latest_ship_date) if self.latest_ship_date else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        items = [OrderItem(**i) for i in data["items"]]
        shipments = [
            ShipmentRecord(**{**s, "items": [tuple(x) for x in s["items"]]})
            for s in data.get("shipments", [])
        ]
        purchase = parse_iso(data["purchase_date"])
        return cls(
            order_id=data["order_id"],
            items=items,
            purchase_date=purchase,
            last_update=parse_iso(data.get("last_update") or data["purchase_date"]),
            status=data.get("status", "Unshipped"),
            ship_service_level=data.get("ship_service_level", SHIP_SERVICE_LEVELS[0]),
            marketplace_id=data.get("marketplace_id", DEFAULT_MARKETPLACE),
            shipments=shipments,
            auto_created=bool(data.get("auto_created", False)),
            placeholder=bool(data.get("placeholder", False)),
            buyer_email=data.get("buyer_email"),
            latest_ship_date=parse_iso(data["latest_ship_date"])
            if data.get("latest_ship_date")
            else None,
            currency=data.get("currency", "USD"),
        )


def _order_id(rng: random.Random) -> str:
    return (
        f"{rng.randint(100, 999)}-{rng.randint(0, 9_999_999):07d}-{rng.randint(0, 9_999_999):07d}"
    )


def _item_id(rng: random.Random) -> str:
    return f"{rng.randint(10**13, 10**14 - 1)}"


class OrderBook:
    """Orders by id, behind one lock: the HTTP server answers from many threads at once.

    Callers that read-then-write (processing a message, confirmShipment) hold ``lock`` for
    the whole step so that two feeds naming the same item cannot both ship it.
    """

    def __init__(self, orders: list[Order] | None = None, *, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self._orders: dict[str, Order] = {o.order_id: o for o in orders or []}
        self._rng = random.Random(f"orderbook-ids-{seed}")

    # -- building -----------------------------------------------------------------------

    @classmethod
    def generate(
        cls, seed: int, count: int, marketplace_id: str = DEFAULT_MARKETPLACE
    ) -> OrderBook:
        """A reproducible book of unshipped orders placed over the last two weeks."""
        rng = random.Random(seed)
        now = datetime.now(UTC).replace(microsecond=0)
        book = cls(seed=seed)
        for _ in range(count):
            order_id = _order_id(rng)
            while order_id in book._orders:
                order_id = _order_id(rng)
            purchase = now - timedelta(seconds=rng.randint(3600, 14 * 86400))
            items = [
                OrderItem(
                    order_item_id=_item_id(rng),
                    quantity_ordered=rng.choice((1, 1, 1, 2, 3)),
                    asin=f"B0{rng.randint(0, 10**8 - 1):08d}",
                    sku=f"SKU-{rng.randint(1000, 9999)}",
                )
                for _ in range(rng.choice((1, 1, 1, 2, 3)))
            ]
            book._orders[order_id] = Order(
                order_id=order_id,
                items=items,
                purchase_date=purchase,
                last_update=purchase,
                ship_service_level=rng.choice(SHIP_SERVICE_LEVELS),
                marketplace_id=marketplace_id,
            )
        return book

    def add_order(
        self,
        order_id: str | None = None,
        items: list[tuple[str, int]] | int = 1,
        *,
        status: str = "Unshipped",
        purchase_date: datetime | None = None,
        ship_service_level: str = SHIP_SERVICE_LEVELS[0],
        marketplace_id: str = DEFAULT_MARKETPLACE,
        latest_ship_date: datetime | None = None,
    ) -> Order:
        """Add an order; ``items`` is [(order_item_id, quantity)] or a number of 1-unit items."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        with self.lock:
            if order_id is None:
                order_id = _order_id(self._rng)
            if order_id in self._orders:
                raise ValueError(f"order {order_id} already exists")
            if isinstance(items, int):
                items = [(_item_id(self._rng), 1) for _ in range(items)]
            when = purchase_date or datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
            order = Order(
                order_id=order_id,
                items=[OrderItem(order_item_id=i, quantity_ordered=q) for i, q in items],
                purchase_date=when,
                last_update=when,
                status=status,
                ship_service_level=ship_service_level,
                marketplace_id=marketplace_id,
                latest_ship_date=latest_ship_date,
            )
            self._orders[order_id] = order
            return order

    def ensure_order(
        self,
        order_id: str,
        items: list[tuple[str, int]],
        marketplace_id: str = DEFAULT_MARKETPLACE,
    ) -> Order:
        """The auto-create view: an unknown order exists, unshipped, holding what is named,
        in the marketplace it was asked in (an amazon.de seller's order is on amazon.de).

        An order made up this way also grows items a later feed names for the first time
        (a seller's lines for one order can arrive in different files). Items it already
        holds never grow, so shipping one twice is still refused, as Amazon refuses it.
        """
        with self.lock:
            order = self._orders.get(order_id)
            if order is None:
                named = items or [(_item_id(self._rng), 1)]
                order = self.add_order(
                    order_id, [(i, max(q, 1)) for i, q in named], marketplace_id=marketplace_id
                )
                order.auto_created = True
                order.placeholder = not items
            elif order.placeholder and items and not order.shipments:
                # A lookup guessed one item; the first feed naming real items replaces it.
                order.items = [OrderItem(i, max(q, 1)) for i, q in items]
                order.placeholder = False
            elif order.auto_created:
                for item_id, qty in items:
                    if order.item(item_id) is None:
                        order.items.append(OrderItem(item_id, max(qty, 1)))
                        order.refresh_status(datetime.now(UTC))
            return order

    # -- reading ------------------------------------------------------------------------

    def cancel(self, order_id: str, now: datetime | None = None) -> Order:
        """A buyer cancels ``order_id`` (its LastUpdateDate moves, so getOrders sees it)."""
        with self.lock:
            order = self._orders[order_id]
            order.cancel_by_buyer(now or datetime.now(UTC).replace(microsecond=0))
            return order

    def get(self, order_id: str) -> Order | None:
        with self.lock:
            return self._orders.get(order_id)

    def orders(self) -> list[Order]:
        """A snapshot list, oldest purchase first (the order getOrders pages in)."""
        with self.lock:
            return sorted(self._orders.values(), key=lambda o: (o.purchase_date, o.order_id))

    def __len__(self) -> int:
        with self.lock:
            return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        with self.lock:
            return order_id in self._orders

    # -- persistence --------------------------------------------------------------------

    def dump(self, path: str | Path) -> None:
        with self.lock:
            data = {"orders": [o.to_json() for o in self.orders()]}
        Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> OrderBook:
        """Read a book written by :meth:`dump` (a bare list of orders is accepted too)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        orders = data["orders"] if isinstance(data, dict) else data
        return cls([Order.from_json(o) for o in orders])
