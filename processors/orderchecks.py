"""Look queued orders up on Amazon before sending them (Orders API, opt-out by setting).

Why: confirming a cancelled order must never happen, confirming an order Amazon already
shows shipped only earns an error, and a line with tracking but no ship method should
carry the buyer's original ship service level (Amazon's advice).

Rules:
* Canceled on Amazon → the lines are cancelled, never sent.
* Shipped on Amazon (every item) → confirmed elsewhere, not sent. PartiallyShipped: a
  line naming an item with nothing left to ship is confirmed elsewhere too.
* tracking but no ship method → the order's ShipServiceLevel.
* the lookup itself fails for now (throttled, 5xx, network) → the order waits for the
  next batch (returned as deferred);
* Amazon does not know the order (404/400) → sent anyway: the feed's processing report
  gives the seller Amazon's own answer (18028), with plain words.

getOrder is throttled (0.5/s, burst 30) and the client's limiter blocks, so at most
``spapi.order_lookups_per_batch`` orders are looked up per batch; lines of further orders
are sent without a lookup. Answers are cached for the batch (one Cache per run_batch).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from feeds.errors import TransientError
from feeds.spapi.errors import InvalidRequest, NotFound, SpApiTerminalError
from feeds.spapi.orders import Order, OrderItem
from processors.context import Context
from processors.ledger.errors import LedgerError
from processors.ledger.records import LineRow

log = logging.getLogger(__name__)

#: Marks an order Amazon does not know (or refused to show): sent, the feed reports it.
UNKNOWN = "unknown"


@dataclass
class Cache:
    """Per batch: each order (and its items) is asked about once."""

    orders: dict[str, Order | str] = field(default_factory=dict)  # Order, or UNKNOWN
    items: dict[str, list[OrderItem] | None] = field(default_factory=dict)
    lookups: int = 0


@dataclass
class CheckResult:
    deferred: set[str] = field(default_factory=set)  # order ids to leave for the next batch
    cancelled: int = 0  # lines
    confirmed_elsewhere: int = 0  # lines
    ship_methods_filled: int = 0


def check_orders(ctx: Context, rows: Sequence[LineRow], cache: Cache) -> CheckResult:
    """Apply the rules above to queued ``rows``; see the module docstring."""
    result = CheckResult()
    if not ctx.settings.spapi.use_orders_api:
        return result
    limit = ctx.settings.spapi.order_lookups_per_batch
    by_order: dict[str, list[LineRow]] = {}
    for r in rows:
        by_order.setdefault(r.order_id, []).append(r)
    for order_id, order_rows in by_order.items():
        order = cache.orders.get(order_id)
        if order is None:
            if cache.lookups >= limit:
                continue  # past the budget: sent without a lookup
            cache.lookups += 1
            try:
                order = cache.orders[order_id] = ctx.client.orders.get_order(order_id)
            except (NotFound, InvalidRequest):
                order = cache.orders[order_id] = UNKNOWN
            except TransientError as exc:
                log.warning("order %s: lookup failed for now (%s); next batch", order_id, exc)
                result.deferred.add(order_id)
                continue
            except SpApiTerminalError as exc:
                log.warning("order %s: lookup refused (%s); sent without it", order_id, exc)
                order = cache.orders[order_id] = UNKNOWN
        if isinstance(order, str):
            continue
        try:
            _apply(ctx, order, order_rows, cache, result)
        except TransientError as exc:
            log.warning("order %s: item lookup failed for now (%s); next batch", order_id, exc)
            result.deferred.add(order_id)
    return result


def _apply(
    ctx: Context, order: Order, rows: list[LineRow], cache: Cache, result: CheckResult
) -> None:
    ledger = ctx.ledger
    ids = [r.id for r in rows]
    if order.status == "Canceled":
        if _safely(ledger.mark_cancelled_on_amazon, ids, "the order is cancelled on Amazon"):
            result.cancelled += len(ids)
        return
    if order.status == "Shipped":
        msg = "Amazon already shows this order shipped; not sent again"
        if _safely(ledger.mark_confirmed_elsewhere, ids, msg):
            result.confirmed_elsewhere += len(ids)
        return
    sendable = rows
    if order.status == "PartiallyShipped" and any(r.order_item_id for r in rows):
        items = cache.items.get(order.order_id)
        if order.order_id not in cache.items:
            items = cache.items[order.order_id] = ctx.client.orders.get_order_items(order.order_id)
        done = {i.order_item_id for i in items or [] if i.quantity_unshipped == 0}
        shipped = [r.id for r in rows if r.order_item_id in done]
        msg = "Amazon already shows this item shipped; not sent again"
        if shipped and _safely(ledger.mark_confirmed_elsewhere, shipped, msg):
            result.confirmed_elsewhere += len(shipped)
            sendable = [r for r in rows if r.id not in set(shipped)]
    level = order.ship_service_level
    if level:
        for r in sendable:
            if r.tracking_number and not r.ship_method:
                try:
                    ledger.set_ship_method(r.id, level)
                    result.ship_methods_filled += 1
                except LedgerError as exc:  # taken into a feed by another worker meanwhile
                    log.info("line %d: ship method not filled: %s", r.id, exc)


def _safely(mark: object, ids: list[int], message: str) -> bool:
    """Mark lines, unless another worker reserved them meanwhile (then it decides)."""
    assert callable(mark)
    try:
        mark(ids, message)
    except LedgerError as exc:
        log.info("lines %s left as they are: %s", ids[:5], exc)
        return False
    return True
