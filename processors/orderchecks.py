"""Check queued orders against the order mirror before sending (Orders API, opt-out).

Why: confirming a cancelled order must never happen, confirming an order Amazon already
shows shipped only earns an error, and a line with tracking but no ship method should
carry the buyer's original ship service level (Amazon's advice).

The checks read the ledger's mirror of Amazon's orders (processors/mirror.py keeps it up
to date in a step of its own), never Amazon: a batch never waits for a lookup. Asking
getOrder per order (0.5/s) held a 400-line file for over two minutes.

Rules:
* Canceled on Amazon → the lines are cancelled, never sent.
* Shipped on Amazon (every item) → confirmed elsewhere, not sent. PartiallyShipped: a
  line naming an item with nothing left to ship is confirmed elsewhere too (when the
  mirror holds the order's items; else it is sent and Amazon answers).
* tracking but no ship method → the order's ShipServiceLevel.
* not in the mirror yet → the order waits for the next batch, but for no longer than
  ``spapi.mirror_wait_seconds`` after its line was queued; then it is sent anyway.
* Amazon did not know the order when the mirror asked, after the line was queued → the
  line ends in error, "order not found on Amazon for this seller", not sent
  (processors.unknownorders); a resent line is sent anyway, and Amazon's answer (18028)
  is the final word. An answer older than the line counts as no answer yet (above).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config.settings import SellerSettings
from processors.context import Context
from processors.ledger import orders as mirror
from processors.ledger.errors import LedgerError
from processors.ledger.orders import MirroredOrder
from processors.ledger.records import LineRow
from processors.ledger.shipmethods import fill_ship_methods
from processors.ledger.unknownorders import not_found_at
from processors.unknownorders import not_sent_message

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    deferred: set[str] = field(default_factory=set)  # order ids to leave for the next batch
    cancelled: int = 0  # lines
    confirmed_elsewhere: int = 0  # lines
    ship_methods_filled: int = 0
    not_found: int = 0  # lines of orders Amazon did not know: error, not sent
    unknown: int = 0  # resent lines of orders Amazon did not know: sent, the feed answers
    unchecked: int = 0  # lines sent without the mirror (waited long enough)


def check_orders(ctx: Context, seller: SellerSettings, rows: Sequence[LineRow]) -> CheckResult:
    """Apply the rules above to queued ``rows``; see the module docstring."""
    result = CheckResult()
    if not ctx.settings.spapi.use_orders_api or not rows:
        return result
    by_order: dict[str, list[LineRow]] = {}
    for r in rows:
        by_order.setdefault(r.order_id, []).append(r)
    market = seller.marketplace_id
    known = mirror.read(ctx.ledger, seller.name, market, by_order)
    absent = not_found_at(ctx.ledger, seller.name, market, set(by_order) - set(known))
    waited_enough = ctx.clock() - timedelta(seconds=ctx.settings.spapi.mirror_wait_seconds)
    methods: dict[int, str] = {}
    for order_id, order_rows in by_order.items():
        order = known.get(order_id)
        asked = absent.get(order_id)
        if asked is not None:
            # Only an answer given after the line was queued speaks for it.
            order_rows = _not_found(ctx, seller, order_id, asked, order_rows, result)
        if order is not None:
            _apply(ctx, order, order_rows, result, methods)
        elif not order_rows:
            continue
        elif max(r.status_changed_at for r in order_rows) > waited_enough:
            result.deferred.add(order_id)
        else:
            result.unchecked += len(order_rows)
    if methods:
        result.ship_methods_filled = fill_ship_methods(ctx.ledger, methods)
    if result.unchecked:
        log.info("%s: %d line(s) sent without the order mirror", seller.name, result.unchecked)
    if result.cancelled or result.confirmed_elsewhere or result.not_found:
        log.info(
            "%s: before sending: %d line(s) cancelled on Amazon, %d already shipped there, "
            "%d of orders Amazon does not know (not sent)",
            seller.name,
            result.cancelled,
            result.confirmed_elsewhere,
            result.not_found,
        )
    return result


def _not_found(
    ctx: Context,
    seller: SellerSettings,
    order_id: str,
    asked: datetime,
    rows: list[LineRow],
    result: CheckResult,
) -> list[LineRow]:
    """Lines queued before Amazon last said it does not know the order are decided here;
    returns the others (queued since: the mirror asks again before they are decided)."""
    answered = [r for r in rows if asked >= r.status_changed_at]
    first = [r.id for r in answered if r.attempts == 0]
    result.unknown += len(answered) - len(first)  # resent by an operator: Amazon decides
    if first:
        msg = not_sent_message(order_id, seller.name, seller.marketplace_id, asked)
        if _safely(lambda ids, m: ctx.ledger.mark_error(ids, None, m), first, msg):
            result.not_found += len(first)
    return [r for r in rows if asked < r.status_changed_at]


def _apply(
    ctx: Context,
    order: MirroredOrder,
    rows: list[LineRow],
    result: CheckResult,
    methods: dict[int, str],
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
    if order.status == "PartiallyShipped" and order.items is not None:
        done = {i.order_item_id for i in order.items if i.quantity_unshipped == 0}
        shipped = [r.id for r in rows if r.order_item_id in done]
        msg = "Amazon already shows this item shipped; not sent again"
        if shipped and _safely(ledger.mark_confirmed_elsewhere, shipped, msg):
            result.confirmed_elsewhere += len(shipped)
            sendable = [r for r in rows if r.id not in set(shipped)]
    level = order.ship_service_level
    if level:
        for r in sendable:
            if r.tracking_number and not r.ship_method:
                methods[r.id] = level  # filled together, in one transaction


def _safely(mark: Callable[[list[int], str], None], ids: list[int], message: str) -> bool:
    """Mark lines, unless another worker reserved them meanwhile (then it decides)."""
    try:
        mark(ids, message)
    except LedgerError as exc:
        log.info("lines %s left as they are: %s", ids[:5], exc)
        return False
    return True
