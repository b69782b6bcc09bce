"""Confirmed lines that Amazon still shows unshipped: they need a person.

A line is confirmed when Amazon's processing report (or confirmShipment) took it. If,
hours later, the order mirror still shows the order Unshipped (or, with its items read,
nothing shipped of the line's item), the confirmation did not take on Amazon's side (a
lost edit, an order changed meanwhile) and the buyer is still waiting. The line moves
confirmed -> needs_attention with that reason, so the seller and the alerts see it.

Judged only against a mirror read that finished after the waiting time: an order that
Amazon did not change since before the confirmation is not re-read, so the mirror's
last completed read (order_sync.synced_at) must be later than confirmation + waiting.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, select

from processors.ledger.moves import Move
from processors.ledger.schema import lines, order_items, order_sync, orders
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

S = LineStatus
REASON = "Amazon still shows this unshipped"


def mark_still_unshipped(
    ledger: Ledger, seller: str, marketplace: str, after: timedelta, limit: int = 1000
) -> list[int]:
    """Confirmed lines of ``seller`` whose order Amazon still shows unshipped ``after``
    their confirmation -> needs_attention. Returns their ids."""
    order = and_(
        orders.c.seller == seller,
        orders.c.marketplace_id == marketplace,
        orders.c.order_id == lines.c.order_id,
    )
    item_untouched = exists(
        select(order_items.c.order_item_id).where(
            order_items.c.seller == seller,
            order_items.c.marketplace_id == marketplace,
            order_items.c.order_id == lines.c.order_id,
            order_items.c.order_item_id == lines.c.order_item_id,
            order_items.c.quantity_shipped == 0,
        )
    )
    fresh_items = orders.c.items_as_of == orders.c.last_update_date
    synced = select(order_sync.c.synced_at).where(
        order_sync.c.seller == seller, order_sync.c.marketplace_id == marketplace
    )
    q = (
        select(lines)
        .join(orders, order)
        .where(
            lines.c.seller == seller,
            lines.c.status == S.CONFIRMED.value,
            (orders.c.status == "Unshipped")
            | (
                (orders.c.status == "PartiallyShipped")
                & lines.c.order_item_id.is_not(None)
                & fresh_items
                & item_untouched
            ),
        )
        .order_by(lines.c.id)
        .limit(limit)
    )
    with ledger._writing() as conn:
        synced_at = conn.execute(synced).scalar()
        if synced_at is None:
            return []
        q = q.where(lines.c.status_changed_at <= synced_at - after)
        rows = [dict(r) for r in conn.execute(ledger._lock(q)).mappings()]
        ledger._move(conn, [Move(r, S.NEEDS_ATTENTION, REASON) for r in rows])
    return [r["id"] for r in rows]
