"""Reconciliation: which orders Amazon is still waiting for, read from the order mirror.

No peer tells a seller this: orders Amazon shows Unshipped or PartiallyShipped that no
file has mentioned, close to or past their LatestShipDate. They hurt the seller's
late-shipment rate, or Amazon cancels them. Listed per seller in ``due-orders.csv`` and
``due-orders.json`` in the seller's outbox (rewritten on a schedule, atomically by the
outbox's own temp-then-rename), in ``status`` and in the alerts' digest.

Also listed: orders a file confirmed with fewer units than the order has (Amazon shows
them PartiallyShipped), with the units left. And confirmed lines Amazon still shows
unshipped hours later move to needs_attention (processors.ledger.unshipped).

The pure part (``due_rows``, ``render``) builds the rows and the files' bytes; the step
(``run_reconcile``) reads the ledger and writes the outbox.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from config.settings import SellerSettings, Settings
from ingest.inbox import Outbox
from processors.context import Context
from processors.ledger import orders as mirror
from processors.ledger.orders import MirroredOrder
from processors.ledger.store import Ledger
from processors.ledger.unshipped import mark_still_unshipped

DUE_CSV = "due-orders.csv"
DUE_JSON = "due-orders.json"
#: Rows per list: a seller with more due orders than this has a bigger problem to see.
MAX_LISTED = 1000
NOT_MENTIONED = "no file has mentioned this order"
FIELDS = (
    "order_id",
    "status",
    "latest_ship_date",
    "late",
    "ship_service_level",
    "order_total",
    "currency",
    "units_left",
    "reason",
)


@dataclass(frozen=True, slots=True)
class DueOrder:
    order_id: str
    status: str
    latest_ship_date: str | None  # ISO 8601, UTC
    late: bool  # past its LatestShipDate
    ship_service_level: str | None
    order_total: str | None
    currency: str | None
    units_left: int | None
    reason: str


@dataclass
class ReconcileResult:
    due: list[DueOrder] = field(default_factory=list)
    needs_attention: list[int] = field(default_factory=list)  # lines still unshipped
    written: bool = False


def _due(order: MirroredOrder, now: datetime, reason: str) -> DueOrder:
    ship_by = order.latest_ship_date
    return DueOrder(
        order_id=order.order_id,
        status=order.status,
        latest_ship_date=ship_by.isoformat(timespec="seconds") if ship_by else None,
        late=ship_by is not None and ship_by < now,
        ship_service_level=order.ship_service_level,
        order_total=order.total_amount,
        currency=order.total_currency,
        units_left=order.units_unshipped,
        reason=reason,
    )


def due_rows(
    unmentioned: Sequence[MirroredOrder], partial: Sequence[MirroredOrder], now: datetime
) -> list[DueOrder]:
    """The list a seller sees: unmentioned due orders first (soonest ship-by first), then
    orders a file confirmed only in part."""
    rows = [_due(o, now, NOT_MENTIONED) for o in unmentioned]
    for o in partial:
        left = o.units_unshipped
        units = f"{left} unit(s) left to ship" if left is not None else "units left to ship"
        rows.append(_due(o, now, f"partially shipped: a file confirmed fewer units; {units}"))
    return rows


def render(rows: Sequence[DueOrder], now: datetime) -> tuple[bytes, bytes]:
    """The CSV and JSON files' bytes."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(r).items()})
    doc = {"generated_at": now.isoformat(timespec="seconds"), "orders": [asdict(r) for r in rows]}
    return text.getvalue().encode("utf-8"), (json.dumps(doc, indent=1) + "\n").encode("utf-8")


def due_orders(
    ledger: Ledger, settings: Settings, seller: SellerSettings, now: datetime
) -> list[DueOrder]:
    """What is due for ``seller`` now, from the mirror (for the files, status, alerts)."""
    within = timedelta(hours=settings.spapi.due_within_hours)
    market = seller.marketplace_id
    unmentioned = mirror.due_unmentioned(ledger, seller.name, market, now + within, MAX_LISTED)
    partial = mirror.partially_confirmed(ledger, seller.name, market, MAX_LISTED)
    return due_rows(unmentioned, partial, now)


def run_reconcile(ctx: Context, seller: SellerSettings, outbox: Outbox) -> ReconcileResult:
    """One pass for one seller: mark still-unshipped lines, rewrite the due files."""
    result = ReconcileResult()
    if not ctx.settings.spapi.use_orders_api:
        return result
    after = timedelta(hours=ctx.settings.spapi.still_unshipped_after_hours)
    result.needs_attention = mark_still_unshipped(
        ctx.ledger, seller.name, seller.marketplace_id, after
    )
    now = ctx.clock()
    result.due = due_orders(ctx.ledger, ctx.settings, seller, now)
    csv_bytes, json_bytes = render(result.due, now)
    outbox.write(DUE_CSV, csv_bytes)
    outbox.write(DUE_JSON, json_bytes)
    result.written = True
    return result


#: Due orders shown per seller by `status` (the full list is in the seller's outbox).
STATUS_SHOWN = 10


def status_section(
    ledger: Ledger, settings: Settings, seller: str | None, now: datetime
) -> dict[str, list[dict[str, object]]]:
    """Due orders per seller for `status`: seller name -> its soonest due orders."""
    if not settings.spapi.use_orders_api:
        return {}
    return {
        s.name: [asdict(d) for d in due_orders(ledger, settings, s, now)[:STATUS_SHOWN]]
        for s in settings.sellers
        if seller is None or s.name == seller
    }


def status_lines(section: dict[str, list[dict[str, object]]]) -> list[str]:
    out: list[str] = []
    for seller, rows in section.items():
        if not rows:
            continue
        out.append(f"orders Amazon is waiting for ({seller}; all in {DUE_CSV} in its outbox):")
        for r in rows:
            when = r["latest_ship_date"] or "no ship-by date"
            late = " LATE" if r["late"] else ""
            out.append(f"  {r['order_id']} ship by {when}{late}: {r['reason']}")
    return out


def order_facts(ledger: Ledger, order_id: str) -> list[dict[str, object]]:
    """What the order mirror holds of ``order_id`` (per seller), for `order`."""
    out: list[dict[str, object]] = []
    for seller, o in mirror.facts(ledger, order_id):
        data = asdict(o)
        data["seller"] = seller
        out.append(data)
    return out


def order_facts_lines(facts: Sequence[dict[str, object]]) -> list[str]:
    out: list[str] = []
    for f in facts:
        total = f"{f['total_amount']} {f['total_currency']}" if f["total_amount"] else "-"
        out.append(
            f"on Amazon ({f['seller']}, as mirrored {f['mirrored_at']}): {f['status']}, "
            f"ordered {f['purchase_date'] or '-'}, ship by {f['latest_ship_date'] or '-'}, "
            f"{f['ship_service_level'] or '-'}, total {total}"
        )
        items = f["items"]
        if isinstance(items, list | tuple):
            for i in items:
                assert isinstance(i, dict)
                price = f"{i['price_amount']} {i['price_currency']}" if i["price_amount"] else "-"
                out.append(
                    f"  item {i['order_item_id']}: {i['quantity_shipped']} of "
                    f"{i['quantity_ordered']} shipped, price {price}"
                )
    return out
