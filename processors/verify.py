"""Ask the orders on Amazon whether lines that may have been applied were applied.

Why: a report that disagrees with its feed, or an "already fulfilled" (18021) answer to a
line sent before, leaves one question that a guess must not answer, since a wrong guess
either confirms twice or tells the seller to upload again what Amazon has. The order's
state on Amazon answers it: shipped there means applied.

* getOrders names up to 50 orders per call (AmazonOrderIds); its quota is small (burst
  20, then one a minute), so one pass asks at most ``CALLS_PER_PASS`` calls' worth and
  leaves the rest for the next poll;
* a PartiallyShipped order is decided per item with getOrderItems;
* this is asked whatever ``spapi.use_orders_api`` says: that setting is about looking
  orders up before sending; here the Orders API is the only judge there is;
* Amazon unreachable for now (throttled, 5xx, network) → UNKNOWN: the line waits, never an
  error. Other failures (credentials, a refused call) propagate and stop the step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from feeds.errors import TransientError
from feeds.spapi.orders import MAX_ORDER_IDS, Order, OrderItem
from processors.context import Context

log = logging.getLogger(__name__)

#: getOrders calls per pass: its burst. Further orders wait for the next poll.
CALLS_PER_PASS = 20


class Verdict(StrEnum):
    SHIPPED = "shipped"  # Amazon shows the line's item (or the whole order) shipped
    NOT_SHIPPED = "not_shipped"  # nothing of it shipped, cancelled, or no such order
    UNSURE = "unsure"  # partly shipped in a way a person must look at
    UNKNOWN = "unknown"  # Amazon could not be asked now: ask again next poll


@dataclass(frozen=True, slots=True)
class Query:
    line_id: int
    order_id: str
    order_item_id: str | None


def verdict(order: Order | None, items: Sequence[OrderItem] | None, item_id: str | None) -> Verdict:
    """Pure: one line's verdict from its order (None: unknown to Amazon) and, for a partly
    shipped order, its items (None: not fetched)."""
    if order is None or order.status in ("Canceled", "Unshipped", "Pending", "Unfulfillable"):
        return Verdict.NOT_SHIPPED
    if order.status == "Shipped":
        return Verdict.SHIPPED
    if order.status != "PartiallyShipped" or item_id is None:
        return Verdict.UNSURE
    if items is None:
        return Verdict.UNKNOWN
    item = next((i for i in items if i.order_item_id == item_id), None)
    if item is None or item.quantity_shipped == 0:
        return Verdict.NOT_SHIPPED
    if item.quantity_unshipped == 0:
        return Verdict.SHIPPED
    return Verdict.UNSURE


def check_shipped(
    ctx: Context, seller: str, queries: Sequence[Query], *, max_calls: int = CALLS_PER_PASS
) -> tuple[dict[int, Verdict], int]:
    """Each query's verdict (line id → Verdict), and the getOrders calls made: at most
    ``max_calls`` (the tracker shares CALLS_PER_PASS among a pass's feeds, so the
    client's limiter never has to wait a minute per call); see the module docstring."""
    marketplaces = next(
        (s.marketplaces for s in ctx.settings.sellers if s.name == seller), ["ATVPDKIKX0DER"]
    )
    order_ids = sorted({q.order_id for q in queries})
    orders: dict[str, Order] = {}
    asked: set[str] = set()
    calls = 0
    for i in range(0, len(order_ids), MAX_ORDER_IDS):
        if calls >= max_calls:
            break
        calls += 1
        chunk = order_ids[i : i + MAX_ORDER_IDS]
        try:
            found = ctx.client.orders.get_orders_by_id(chunk, marketplace_ids=marketplaces)
        except TransientError as exc:
            log.warning("orders on Amazon not checked for now (%s); next poll", exc)
            break
        orders.update((o.order_id, o) for o in found)
        asked.update(chunk)
    items: dict[str, list[OrderItem] | None] = {}
    out: dict[int, Verdict] = {}
    for q in queries:
        if q.order_id not in asked:
            out[q.line_id] = Verdict.UNKNOWN
            continue
        order = orders.get(q.order_id)
        its = items.get(q.order_id)
        partly = order is not None and order.status == "PartiallyShipped"
        if partly and q.order_item_id and q.order_id not in items:
            try:
                its = items[q.order_id] = ctx.client.orders.get_order_items(q.order_id)
            except TransientError as exc:
                log.warning("order %s: items not checked for now (%s)", q.order_id, exc)
                items[q.order_id] = None
        out[q.line_id] = verdict(order, its, q.order_item_id)
    return out, calls
