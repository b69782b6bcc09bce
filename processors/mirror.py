"""The mirror step: keep the ledger's copy of Amazon's orders up to date, within quota.

A scheduled step of its own, so that the batch only ever reads the mirror and never
waits for Amazon (issue 11). Each pass, per seller, in this order:

1. the incremental read: getOrders with LastUpdatedAfter, page by page (NextToken), at
   most every SYNC_EVERY. A paging cut short keeps its token in the ledger and goes on
   at the next pass. First, because it mirrors 100 orders a call (orders are placed
   before they ship, so it usually holds a file's orders before the file arrives);
2. orders that queued lines name but the mirror still lacks: getOrders by
   AmazonOrderIds, 50 per call (a line waits for this at most
   ``spapi.mirror_wait_seconds``); an order Amazon leaves out is recorded as not found;
3. items, only for partially shipped orders whose queued lines name an item (only there
   does the check need to know which item is done): getOrderItems;
4. last, with what is left of getOrderItems' burst above a reserve for step 3: items of
   orders that lines name and whose items were never read, newest first. Their prices
   are what the console's queue shows beside each line (issue 14); nothing decides on
   them, so they only ever take spare calls.

Every call is one the client's rate limiter lets out at once: the step spends what is
left of the burst and stops, so it never sleeps a minute for getOrders' 0.0167/s. The
token is taken only if it is there (ratelimit.only_if_free), in one step: with workers
sharing an account's bucket, another may have taken it since the look.

The incremental read moves on to the newest LastUpdateDate it saw, minus an overlap and
the time the paging took: an order changed while the pages were read may sit on a page
already passed, and the overlap makes the next read include it (Amazon's own clock, so
our clock's skew does not matter). Orders read twice are simply stored twice.

A seller serving several marketplaces of its region (``marketplace_ids``) asks Amazon
for all of them in each call; the mirror keeps their orders under the seller's main
marketplace, which is the key the checks and reconciliation read by.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from config.settings import SellerSettings
from feeds.spapi.errors import InvalidRequest, RateLimitWouldWait
from feeds.spapi.orders import MAX_ORDER_IDS
from feeds.spapi.ratelimit import only_if_free
from processors.context import Context
from processors.ledger import orderfacts
from processors.ledger import orders as mirror
from processors.ledger.orders import SyncState

log = logging.getLogger(__name__)

#: How far back each incremental read reaches behind the newest LastUpdateDate it saw.
OVERLAP = timedelta(minutes=10)
#: Orders read ahead per pass for step 1 (each getOrders call names 50).
NAMED_PER_PASS = 50 * MAX_ORDER_IDS
#: getOrderItems calls step 4 leaves in the bucket for step 3 of the next passes.
ITEMS_RESERVE = 5
#: Orders whose items step 4 reads at most per pass (getOrderItems' burst is 30).
PRICES_PER_PASS = 20
#: A finished incremental read starts again after this long. getOrders refills one call
#: a minute; reading every minute would leave nothing for the named orders of a new
#: file (step 1) or the tracker's checks, which share the same quota.
SYNC_EVERY = timedelta(minutes=5)


@dataclass
class MirrorResult:
    calls: dict[str, int] = field(default_factory=dict)
    by_id_calls: int = 0  # of calls["getOrders"]: orders named by queued lines
    orders_saved: int = 0
    not_found: int = 0
    items_read: int = 0
    synced: bool = False  # an incremental read reached its last page this pass

    def count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1


def run_mirror(ctx: Context, seller: SellerSettings) -> MirrorResult:
    """One pass for one seller; see the module docstring."""
    result = MirrorResult()
    if not ctx.settings.spapi.use_orders_api:
        return result
    for part in (_sync, _named, _items, _prices):
        try:
            # Only calls the limiter lets out now: never a wait, also when another worker
            # took the last token between the look (_can_call) and the call.
            with only_if_free():
                part(ctx, seller, result)
        except RateLimitWouldWait as exc:
            log.debug("%s: %s; the rest at the next pass", seller.name, exc)
    return result


def _can_call(ctx: Context, operation: str) -> bool:
    return not ctx.stop.is_set() and ctx.client.limiter.available(operation) >= 1.0


def _named(ctx: Context, seller: SellerSettings, result: MirrorResult) -> None:
    market = seller.marketplace_id
    ids = mirror.unmirrored_queued(ctx.ledger, seller.name, market, NAMED_PER_PASS)
    for start in range(0, len(ids), MAX_ORDER_IDS):
        if not _can_call(ctx, "getOrders"):
            return
        chunk = ids[start : start + MAX_ORDER_IDS]
        found = ctx.client.orders.get_orders_by_id(chunk, marketplace_ids=seller.marketplaces)
        result.count("getOrders")
        result.by_id_calls += 1
        now = ctx.clock()
        result.orders_saved += mirror.save_orders(ctx.ledger, seller.name, market, found, now)
        absent = set(chunk) - {o.order_id for o in found}
        if absent:
            mirror.save_not_found(ctx.ledger, seller.name, market, absent, now)
            result.not_found += len(absent)


def _items(ctx: Context, seller: SellerSettings, result: MirrorResult) -> None:
    market = seller.marketplace_id
    for order_id in mirror.needing_items(ctx.ledger, seller.name, market, limit=100):
        if not _can_call(ctx, "getOrderItems"):
            return
        items = ctx.client.orders.get_order_items(order_id)
        result.count("getOrderItems")
        mirror.save_items(ctx.ledger, seller.name, market, order_id, items)
        result.items_read += 1


def _prices(ctx: Context, seller: SellerSettings, result: MirrorResult) -> None:
    market = seller.marketplace_id
    limiter = ctx.client.limiter
    for order_id in orderfacts.unpriced_orders(ctx.ledger, seller.name, market, PRICES_PER_PASS):
        if ctx.stop.is_set() or limiter.available("getOrderItems") < 1.0 + ITEMS_RESERVE:
            return
        items = ctx.client.orders.get_order_items(order_id)
        result.count("getOrderItems")
        mirror.save_items(ctx.ledger, seller.name, market, order_id, items)
        result.items_read += 1


def _sync(
    ctx: Context,
    seller: SellerSettings,
    result: MirrorResult,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    market = seller.marketplace_id
    state = mirror.sync_state(ctx.ledger, seller.name, market)
    if (
        state.next_token is None
        and state.synced_at is not None
        and ctx.clock() - state.synced_at < SYNC_EVERY
    ):
        return
    after = state.paging_after
    if state.next_token is None or after is None:
        after = state.synced_through or ctx.clock() - timedelta(days=ctx.settings.spapi.mirror_days)
        state = SyncState(state.synced_through, None, after, None, state.synced_at)
    token, newest = state.next_token, state.paging_max_seen
    started = monotonic()
    while _can_call(ctx, "getOrders"):
        try:
            if token is None:
                found, token = ctx.client.orders.get_orders_page(
                    marketplace_ids=seller.marketplaces, last_updated_after=after
                )
            else:
                found, token = ctx.client.orders.get_orders_page(
                    marketplace_ids=seller.marketplaces, next_token=token
                )
        except InvalidRequest as exc:
            if token is None:
                raise
            # An expired NextToken: read again from where that paging began.
            log.info("%s: order paging token refused (%s); reading again", seller.name, exc)
            result.count("getOrders")
            token, newest = None, None
            continue
        result.count("getOrders")
        now = ctx.clock()
        result.orders_saved += mirror.save_orders(ctx.ledger, seller.name, market, found, now)
        for o in found:
            if o.last_update_date is not None and (newest is None or o.last_update_date > newest):
                newest = o.last_update_date
        if token is None:
            took = timedelta(seconds=monotonic() - started)
            through = after if newest is None else max(after, newest - OVERLAP - took)
            mirror.save_sync_state(
                ctx.ledger, seller.name, market, SyncState(through, None, None, None, now)
            )
            result.synced = True
            return
        mirror.save_sync_state(
            ctx.ledger,
            seller.name,
            market,
            SyncState(state.synced_through, token, after, newest, state.synced_at),
        )
