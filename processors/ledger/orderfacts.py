"""What the order mirror says about the lines an operator looks at: item price, order
date, order total, and for one order the whole mirrored order with its items.

The console's queue reads its page of lines first (keyset paging on the lines' own
indexes) and then the mirror for just those lines: one indexed lookup of at most a
page's orders (orders by order_id and seller, migration 0008) and one of their items
(the items' primary key). Joining the mirror into the paging query itself would let
the planner trade the keyset walk for a join order; looked up afterwards, a page costs
the same whatever the mirror holds.

A line is matched to its seller's copy of the order: the same order id under another
seller is never read here. Money stays Amazon's decimal strings; sums use Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, exists, select

from processors.ledger.schema import lines, order_items, orders

if TYPE_CHECKING:
    from processors.ledger.base import LedgerBase

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Money:
    amount: str
    currency: str | None

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}" if self.currency else self.amount


@dataclass(frozen=True, slots=True)
class ItemFacts:
    order_item_id: str
    sku: str | None
    quantity_ordered: int
    quantity_shipped: int
    price: Money | None

    @property
    def quantity_unshipped(self) -> int:
        return max(0, self.quantity_ordered - self.quantity_shipped)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One seller's mirrored copy of an order."""

    seller: str
    marketplace_id: str
    order_id: str
    amazon_status: str
    purchase_date: datetime | None
    latest_ship_date: datetime | None
    ship_service_level: str | None
    total: Money | None
    last_update_date: datetime
    mirrored_at: datetime
    #: None: getOrderItems never read for this order (only some orders need it).
    items: tuple[ItemFacts, ...] | None
    #: the items were read before the order last changed: quantities may be out of date
    items_stale: bool

    def price_of(self, order_item_id: str | None) -> Money | None:
        """The price Amazon gives for the line's item; a line naming no item takes the
        order's only item, if it has one. None when the items were not read."""
        if self.items is None:
            return None
        if order_item_id is None:
            return self.items[0].price if len(self.items) == 1 else None
        return next((i.price for i in self.items if i.order_item_id == order_item_id), None)


def _money(amount: str | None, currency: str | None) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _facts(r: Any, items: list[ItemFacts] | None) -> OrderFacts:
    read = r.items_as_of is not None
    return OrderFacts(
        seller=r.seller,
        marketplace_id=r.marketplace_id,
        order_id=r.order_id,
        amazon_status=r.status,
        purchase_date=r.purchase_date,
        latest_ship_date=r.latest_ship_date,
        ship_service_level=r.ship_service_level,
        total=_money(r.total_amount, r.total_currency),
        last_update_date=r.last_update_date,
        mirrored_at=r.mirrored_at,
        items=tuple(sorted(items or (), key=lambda i: i.order_item_id)) if read else None,
        items_stale=read and r.items_as_of != r.last_update_date,
    )


def for_orders(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], OrderFacts]:
    """The mirrored facts for (seller, order_id) pairs; pairs the mirror lacks are left
    out. Should one seller hold the order in two marketplaces, the latest update wins."""
    wanted = set(keys)
    by_order: dict[str, set[str]] = defaultdict(set)
    for seller, order_id in wanted:
        by_order[order_id].add(seller)
    ids = sorted(by_order)
    rows: dict[tuple[str, str], Any] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        sellers = sorted({s for i in chunk for s in by_order[i]})
        for r in conn.execute(
            select(orders).where(orders.c.order_id.in_(chunk), orders.c.seller.in_(sellers))
        ):
            key = (r.seller, r.order_id)
            if key in wanted and (
                key not in rows or r.last_update_date > rows[key].last_update_date
            ):
                rows[key] = r
    items = _items(conn, [r for r in rows.values() if r.items_as_of is not None])
    return {
        k: _facts(r, items.get((r.seller, r.marketplace_id, r.order_id))) for k, r in rows.items()
    }


def _items(conn: Connection, rows: Sequence[Any]) -> dict[tuple[str, str, str], list[ItemFacts]]:
    """The items of these orders, through the items' primary key (seller, marketplace,
    order id) grouped per seller and marketplace."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        groups[(r.seller, r.marketplace_id)].append(r.order_id)
    out: dict[tuple[str, str, str], list[ItemFacts]] = defaultdict(list)
    for (seller, market), ids in groups.items():
        for start in range(0, len(ids), _CHUNK):
            q = select(order_items).where(
                order_items.c.seller == seller,
                order_items.c.marketplace_id == market,
                order_items.c.order_id.in_(ids[start : start + _CHUNK]),
            )
            for i in conn.execute(q):
                out[(seller, market, i.order_id)].append(
                    ItemFacts(
                        order_item_id=i.order_item_id,
                        sku=i.sku,
                        quantity_ordered=i.quantity_ordered,
                        quantity_shipped=i.quantity_shipped,
                        price=_money(i.price_amount, i.price_currency),
                    )
                )
    return out


def order_facts(conn: Connection, order_id: str, sellers: Iterable[str]) -> list[OrderFacts]:
    """Each of ``sellers``' mirrored copies of one order (the order page)."""
    return sorted(
        for_orders(conn, [(s, order_id) for s in sellers]).values(), key=lambda o: o.seller
    )


def sellers_with_order(conn: Connection, order_id: str) -> list[str]:
    """The sellers whose mirror holds ``order_id`` (through the order_id index)."""
    q = select(orders.c.seller).where(orders.c.order_id == order_id).distinct()
    return sorted(conn.execute(q).scalars())


@dataclass
class Amounts:
    """A sum of prices per currency, and how many lines had no price to add."""

    per_currency: dict[str, Decimal]
    unpriced: int = 0

    def add(self, price: Money | None) -> None:
        if price is None:
            self.unpriced += 1
            return
        try:
            value = Decimal(price.amount)
        except InvalidOperation:
            self.unpriced += 1
            return
        cur = price.currency or ""
        self.per_currency[cur] = self.per_currency.get(cur, Decimal(0)) + value

    def text(self) -> list[str]:
        return [f"{v} {c}".strip() for c, v in sorted(self.per_currency.items())]


def amounts(prices: Iterable[Money | None]) -> Amounts:
    out = Amounts({})
    for p in prices:
        out.add(p)
    return out


def unpriced_orders(ledger: LedgerBase, seller: str, marketplace: str, limit: int) -> list[str]:
    """Orders of the seller's lines whose items (and so their prices) were never read,
    newest purchase first: the queue shows a line's price from its item, and getOrderItems
    is the only call that gives it. Walks the orders' purchase-date index and stops after
    ``limit``."""
    q = (
        select(orders.c.order_id)
        .where(
            orders.c.seller == seller,
            orders.c.marketplace_id == marketplace,
            orders.c.items_as_of.is_(None),
            exists(
                select(lines.c.id).where(
                    lines.c.order_id == orders.c.order_id, lines.c.seller == seller
                )
            ),
        )
        .order_by(orders.c.purchase_date.desc())
        .limit(limit)
    )
    with ledger.reading() as conn:
        return list(conn.execute(q).scalars())
