"""The ledger's mirror of Amazon's orders: what getOrders/getOrderItems last said.

Kept per seller and marketplace, because one Amazon order id means nothing outside the
seller account that sold it. The checks before sending read these rows instead of asking
Amazon per order (getOrder allows 0.5 calls a second: a 400-line file waited minutes),
and reconciliation reads them to tell a seller which orders Amazon is still waiting for.

Writes are upserts keyed by the order, so two workers mirroring the same page, or a page
read twice after a restart, leave one row with Amazon's latest answer. Items are stored
with the order's LastUpdateDate when they were read: once the order changes again they
are stale and are not used (both dates are Amazon's; our clock never enters).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from feeds.spapi.orders import Order, OrderItem
from processors.ledger.schema import lines, order_items, order_sync, orders, orders_not_found
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

S = LineStatus
#: Amazon statuses of an order still waiting for the seller to ship.
OPEN_STATUSES = ("Unshipped", "PartiallyShipped")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class MirroredItem:
    order_item_id: str
    sku: str | None
    quantity_ordered: int
    quantity_shipped: int
    price_amount: str | None
    price_currency: str | None

    @property
    def quantity_unshipped(self) -> int:
        return max(0, self.quantity_ordered - self.quantity_shipped)


@dataclass(frozen=True, slots=True)
class MirroredOrder:
    order_id: str
    status: str
    purchase_date: datetime | None
    latest_ship_date: datetime | None
    ship_service_level: str | None
    total_amount: str | None
    total_currency: str | None
    units_shipped: int | None
    units_unshipped: int | None
    last_update_date: datetime
    mirrored_at: datetime
    items: tuple[MirroredItem, ...] | None  # None: not read since the order last changed

    def item(self, order_item_id: str) -> MirroredItem | None:
        return next((i for i in self.items or () if i.order_item_id == order_item_id), None)


@dataclass(frozen=True, slots=True)
class SyncState:
    synced_through: datetime | None
    next_token: str | None
    paging_after: datetime | None
    paging_max_seen: datetime | None
    synced_at: datetime | None


def _upsert(conn: Connection, table: Any, keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE on either backend (both dialects spell it alike)."""
    if not rows:
        return
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    changed = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changed), rows)


def save_orders(
    ledger: Ledger, seller: str, marketplace: str, found: Iterable[Order], now: datetime
) -> int:
    """Store what Amazon answered for these orders; returns how many were stored."""
    rows = [
        {
            "seller": seller,
            "marketplace_id": marketplace,
            "order_id": o.order_id,
            "status": o.status,
            "purchase_date": o.purchase_date,
            "latest_ship_date": o.latest_ship_date,
            "ship_service_level": o.ship_service_level,
            "total_amount": o.total.amount if o.total else None,
            "total_currency": o.total.currency if o.total else None,
            "units_shipped": o.units_shipped,
            "units_unshipped": o.units_unshipped,
            "last_update_date": o.last_update_date or o.purchase_date or now,
            "mirrored_at": now,
        }
        for o in found
    ]
    with ledger._writing() as conn:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            _upsert(conn, orders, ("seller", "marketplace_id", "order_id"), chunk)
            conn.execute(
                delete(orders_not_found).where(
                    orders_not_found.c.seller == seller,
                    orders_not_found.c.marketplace_id == marketplace,
                    orders_not_found.c.order_id.in_([r["order_id"] for r in chunk]),
                )
            )
    return len(rows)


def save_items(
    ledger: Ledger,
    seller: str,
    marketplace: str,
    order_id: str,
    items: Sequence[OrderItem],
) -> None:
    """Replace an order's items with getOrderItems' answer, read after the order's
    current mirrored LastUpdateDate: they stay current until the order changes again."""
    key = and_(
        order_items.c.seller == seller,
        order_items.c.marketplace_id == marketplace,
        order_items.c.order_id == order_id,
    )
    with ledger._writing() as conn:
        conn.execute(delete(order_items).where(key))
        if items:
            conn.execute(
                insert(order_items),
                [
                    {
                        "seller": seller,
                        "marketplace_id": marketplace,
                        "order_id": order_id,
                        "order_item_id": i.order_item_id,
                        "sku": i.sku,
                        "quantity_ordered": i.quantity_ordered,
                        "quantity_shipped": i.quantity_shipped,
                        "price_amount": i.price.amount if i.price else None,
                        "price_currency": i.price.currency if i.price else None,
                    }
                    for i in {i.order_item_id: i for i in items}.values()
                ],
            )
        conn.execute(
            update(orders)
            .where(
                orders.c.seller == seller,
                orders.c.marketplace_id == marketplace,
                orders.c.order_id == order_id,
            )
            .values(items_as_of=orders.c.last_update_date)
        )


def save_not_found(
    ledger: Ledger, seller: str, marketplace: str, order_ids: Iterable[str], now: datetime
) -> None:
    """Orders Amazon left out of its answer to getOrders by AmazonOrderIds."""
    rows = [
        {"seller": seller, "marketplace_id": marketplace, "order_id": i, "looked_up_at": now}
        for i in sorted(set(order_ids))
    ]
    with ledger._writing() as conn:
        _upsert(conn, orders_not_found, ("seller", "marketplace_id", "order_id"), rows)


def read(
    ledger: Ledger, seller: str, marketplace: str, order_ids: Iterable[str]
) -> dict[str, MirroredOrder]:
    """The mirrored orders among ``order_ids``, with their items when those are fresh."""
    ids = sorted(set(order_ids))
    found: dict[str, dict[str, Any]] = {}
    items: dict[str, list[MirroredItem]] = {}
    with ledger.reading() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for r in conn.execute(
                select(orders).where(
                    orders.c.seller == seller,
                    orders.c.marketplace_id == marketplace,
                    orders.c.order_id.in_(chunk),
                )
            ).mappings():
                found[r["order_id"]] = dict(r)
            for r in conn.execute(
                select(order_items).where(
                    order_items.c.seller == seller,
                    order_items.c.marketplace_id == marketplace,
                    order_items.c.order_id.in_(chunk),
                )
            ).mappings():
                items.setdefault(r["order_id"], []).append(
                    MirroredItem(
                        order_item_id=r["order_item_id"],
                        sku=r["sku"],
                        quantity_ordered=r["quantity_ordered"],
                        quantity_shipped=r["quantity_shipped"],
                        price_amount=r["price_amount"],
                        price_currency=r["price_currency"],
                    )
                )
    return {oid: _order(r, items.get(oid, [])) for oid, r in found.items()}


def _order(r: dict[str, Any], items: list[MirroredItem]) -> MirroredOrder:
    fresh = r["items_as_of"] is not None and r["items_as_of"] == r["last_update_date"]
    return MirroredOrder(
        order_id=r["order_id"],
        status=r["status"],
        purchase_date=r["purchase_date"],
        latest_ship_date=r["latest_ship_date"],
        ship_service_level=r["ship_service_level"],
        total_amount=r["total_amount"],
        total_currency=r["total_currency"],
        units_shipped=r["units_shipped"],
        units_unshipped=r["units_unshipped"],
        last_update_date=r["last_update_date"],
        mirrored_at=r["mirrored_at"],
        items=tuple(sorted(items, key=lambda i: i.order_item_id)) if fresh else None,
    )


def not_found(ledger: Ledger, seller: str, marketplace: str, order_ids: Iterable[str]) -> set[str]:
    """Those of ``order_ids`` Amazon did not know when they were looked up."""
    ids = sorted(set(order_ids))
    out: set[str] = set()
    with ledger.reading() as conn:
        for start in range(0, len(ids), _CHUNK):
            out.update(
                conn.execute(
                    select(orders_not_found.c.order_id).where(
                        orders_not_found.c.seller == seller,
                        orders_not_found.c.marketplace_id == marketplace,
                        orders_not_found.c.order_id.in_(ids[start : start + _CHUNK]),
                    )
                ).scalars()
            )
    return out


def _mirrored(seller: str, marketplace: str) -> Any:
    return exists(
        select(orders.c.order_id).where(
            orders.c.seller == seller,
            orders.c.marketplace_id == marketplace,
            orders.c.order_id == lines.c.order_id,
        )
    )


def _looked_up(seller: str, marketplace: str) -> Any:
    """Looked up since the line was queued: an older "not found" may be stale (Amazon did
    not list the order yet, or the seller fixed it), so a new line asks again."""
    return exists(
        select(orders_not_found.c.order_id).where(
            orders_not_found.c.seller == seller,
            orders_not_found.c.marketplace_id == marketplace,
            orders_not_found.c.order_id == lines.c.order_id,
            orders_not_found.c.looked_up_at >= lines.c.status_changed_at,
        )
    )


def unmirrored_queued(ledger: Ledger, seller: str, marketplace: str, limit: int) -> list[str]:
    """Order ids of queued lines that neither the mirror nor a lookup knows, oldest first."""
    q = (
        select(lines.c.order_id, lines.c.id)
        .where(
            lines.c.seller == seller,
            lines.c.status == S.IN_QUEUE.value,
            ~_mirrored(seller, marketplace),
            ~_looked_up(seller, marketplace),
        )
        .order_by(lines.c.id)
    )
    seen: dict[str, None] = {}
    with ledger.reading() as conn:
        for order_id, _ in conn.execute(q):
            seen.setdefault(order_id, None)
            if len(seen) >= limit:
                break
    return list(seen)


def needing_items(ledger: Ledger, seller: str, marketplace: str, limit: int) -> list[str]:
    """Partially shipped orders whose queued lines name items, with no fresh items read:
    only there does the check before sending need to know which item is done."""
    q = (
        select(orders.c.order_id)
        .where(
            orders.c.seller == seller,
            orders.c.marketplace_id == marketplace,
            orders.c.status == "PartiallyShipped",
            (orders.c.items_as_of.is_(None)) | (orders.c.items_as_of != orders.c.last_update_date),
            exists(
                select(lines.c.id).where(
                    lines.c.seller == seller,
                    lines.c.order_id == orders.c.order_id,
                    lines.c.status == S.IN_QUEUE.value,
                    lines.c.order_item_id.is_not(None),
                )
            ),
        )
        .order_by(orders.c.order_id)
        .limit(limit)
    )
    with ledger.reading() as conn:
        return list(conn.execute(q).scalars())


def sync_state(ledger: Ledger, seller: str, marketplace: str) -> SyncState:
    with ledger.reading() as conn:
        r = (
            conn.execute(
                select(order_sync).where(
                    order_sync.c.seller == seller, order_sync.c.marketplace_id == marketplace
                )
            )
            .mappings()
            .first()
        )
    if r is None:
        return SyncState(None, None, None, None, None)
    return SyncState(
        synced_through=r["synced_through"],
        next_token=r["next_token"],
        paging_after=r["paging_after"],
        paging_max_seen=r["paging_max_seen"],
        synced_at=r["synced_at"],
    )


def save_sync_state(ledger: Ledger, seller: str, marketplace: str, state: SyncState) -> None:
    row = {
        "seller": seller,
        "marketplace_id": marketplace,
        "synced_through": state.synced_through,
        "next_token": state.next_token,
        "paging_after": state.paging_after,
        "paging_max_seen": state.paging_max_seen,
        "synced_at": state.synced_at,
    }
    with ledger._writing() as conn:
        _upsert(conn, order_sync, ("seller", "marketplace_id"), [row])


def _unmentioned(seller: str) -> Any:
    return ~exists(
        select(lines.c.id).where(lines.c.seller == seller, lines.c.order_id == orders.c.order_id)
    )


def _mentioned_confirmed(seller: str) -> Any:
    return exists(
        select(lines.c.id).where(
            lines.c.seller == seller,
            lines.c.order_id == orders.c.order_id,
            lines.c.status == S.CONFIRMED.value,
        )
    )


def due_unmentioned(
    ledger: Ledger, seller: str, marketplace: str, ship_by_before: datetime, limit: int
) -> list[MirroredOrder]:
    """Open orders (Unshipped/PartiallyShipped) that no line of the seller names, whose
    LatestShipDate is before ``ship_by_before``: soonest first."""
    return _orders_where(
        ledger,
        seller,
        marketplace,
        limit,
        orders.c.status.in_(OPEN_STATUSES),
        orders.c.latest_ship_date <= ship_by_before,
        _unmentioned(seller),
    )


def partially_confirmed(
    ledger: Ledger, seller: str, marketplace: str, limit: int
) -> list[MirroredOrder]:
    """Orders a file confirmed (a confirmed line) that Amazon shows PartiallyShipped: the
    file confirmed fewer units than the order has; units_unshipped says how many are left."""
    return _orders_where(
        ledger,
        seller,
        marketplace,
        limit,
        orders.c.status == "PartiallyShipped",
        _mentioned_confirmed(seller),
    )


def _orders_where(
    ledger: Ledger, seller: str, marketplace: str, limit: int, *conditions: Any
) -> list[MirroredOrder]:
    q = (
        select(orders)
        .where(orders.c.seller == seller, orders.c.marketplace_id == marketplace, *conditions)
        .order_by(orders.c.latest_ship_date, orders.c.order_id)
        .limit(limit)
    )
    with ledger.reading() as conn:
        return [_order(dict(r), []) for r in conn.execute(q).mappings()]


def due_every_seller(
    ledger: Ledger, ship_by_before: datetime, limit: int
) -> list[tuple[str, MirroredOrder]]:
    """(seller, order) of every seller's open, unmentioned orders due before
    ``ship_by_before``: the alerts read the ledger alone, across sellers."""
    q = (
        select(orders)
        .where(
            orders.c.status.in_(OPEN_STATUSES),
            orders.c.latest_ship_date <= ship_by_before,
            ~exists(
                select(lines.c.id).where(
                    lines.c.seller == orders.c.seller, lines.c.order_id == orders.c.order_id
                )
            ),
        )
        .order_by(orders.c.latest_ship_date, orders.c.seller, orders.c.order_id)
        .limit(limit)
    )
    with ledger.reading() as conn:
        return [(r["seller"], _order(dict(r), [])) for r in conn.execute(q).mappings()]


def facts(ledger: Ledger, order_id: str) -> list[tuple[str, MirroredOrder]]:
    """(seller, order) for every seller's mirrored copy of ``order_id``, with its items
    when current: the order facts an operator sees next to the order's lines."""
    with ledger.reading() as conn:
        rows = [
            dict(r)
            for r in conn.execute(select(orders).where(orders.c.order_id == order_id)).mappings()
        ]
    return [
        (r["seller"], read(ledger, r["seller"], r["marketplace_id"], [order_id])[order_id])
        for r in rows
    ]
