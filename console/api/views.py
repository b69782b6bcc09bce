"""The API's JSON for ledger records: plain dicts, times as ISO 8601 in UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from feeds.model import LineWarning
from processors.apiintake import verdict
from processors.ledger.browse import BrowsePage, BrowseRow, ViewTotals
from processors.ledger.orderfacts import Amounts, Money, OrderFacts
from processors.ledger.queries import FileLine, LineHistory
from processors.ledger.records import FileRecord, LineRow
from processors.ledger.uploads import UploadNotTaken


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def money_json(m: Money | None) -> dict[str, str | None] | None:
    """Money as Amazon gives it: a decimal string, never a float that rounds."""
    return None if m is None else {"amount": m.amount, "currency": m.currency}


def amounts_json(a: Amounts) -> dict[str, Any]:
    return {
        "per_currency": {c: str(v) for c, v in sorted(a.per_currency.items())},
        "lines_without_price": a.unpriced,
    }


def order_facts_json(o: OrderFacts | None) -> dict[str, Any] | None:
    """The seller's mirrored copy of the order; null when not yet mirrored from Amazon."""
    if o is None:
        return None
    return {
        "marketplace_id": o.marketplace_id,
        "status": o.amazon_status,
        "purchase_date": _iso(o.purchase_date),
        "latest_ship_date": _iso(o.latest_ship_date),
        "ship_service_level": o.ship_service_level,
        "order_total": money_json(o.total),
        "last_update_date": _iso(o.last_update_date),
        "mirrored_at": _iso(o.mirrored_at),
        "items": None
        if o.items is None
        else [
            {
                "order_item_id": i.order_item_id,
                "sku": i.sku,
                "quantity_ordered": i.quantity_ordered,
                "quantity_shipped": i.quantity_shipped,
                "quantity_unshipped": i.quantity_unshipped,
                "price": money_json(i.price),
            }
            for i in o.items
        ],
        "items_stale": o.items_stale,
    }


def file_json(f: FileRecord) -> dict[str, Any]:
    return {
        "id": f.id,
        "name": f.name,
        "status": f.status,
        "received_at": _iso(f.received_at),
        "lines": f.lines,
        "accepted": f.accepted,
        "rejected": f.rejected,
        "duplicates": f.duplicates,
        "conflicts": f.conflicts,
        "reported_at": _iso(f.reported_at),
    }


def upload_json(u: UploadNotTaken) -> dict[str, Any]:
    """A later upload of a file's content (an uploaded copy, or the same lines posted
    under another Idempotency-Key): when it came, under which name, and why nothing of
    it was queued."""
    return {"name": u.name, "received_at": _iso(u.received_at), "reason": u.reason}


def verdict_json(ln: FileLine, warnings: Sequence[LineWarning] = ()) -> dict[str, Any]:
    if ln.line_id is None:
        out: dict[str, Any] = {"line": ln.line, "verdict": verdict(ln)}
    else:  # one literal, not a dict and an update(): 10,000 of them in a POST's answer
        out = {
            "line": ln.line,
            "verdict": verdict(ln),
            "line_id": ln.line_id,
            "order_id": ln.order_id,
            "status": ln.outcome,
        }
        if ln.message:
            out["message"] = ln.message
    if ln.errors:
        out["errors"] = [
            {"field": e.column, "value": e.value, "reason": e.reason} for e in ln.errors
        ]
    if warnings:
        out["warnings"] = [
            {"field": w.column, "value": w.value, "reason": w.reason} for w in warnings
        ]
    return out


def line_json(ln: LineRow) -> dict[str, Any]:
    return {
        "line_id": ln.id,
        "file_id": ln.file_id,
        "line": ln.line,
        "order_id": ln.order_id,
        "order_item_id": ln.order_item_id,
        "quantity": ln.quantity,
        "ship_date": _iso(ln.ship_date),
        "carrier_code": ln.carrier_code,
        "carrier_name": ln.carrier_name,
        "tracking_number": ln.tracking_number,
        "ship_method": ln.ship_method,
        "status": ln.status,
        "status_changed_at": _iso(ln.status_changed_at),
        "feed_id": ln.feed_id,
        "result_code": ln.result_code,
        "message": ln.message,
    }


def history_json(h: LineHistory) -> dict[str, Any]:
    return {
        **line_json(h.line),
        "file_name": h.file_name,
        "received_at": _iso(h.received_at),
        "events": [
            {
                "at": _iso(e.at),
                "from_status": e.from_status,
                "to_status": e.to_status,
                "feed_id": e.feed_id,
                "message": e.message,
            }
            for e in h.events
        ],
    }


def browse_row_json(r: BrowseRow) -> dict[str, Any]:
    return {
        "line_id": r.line_id,
        "file_id": r.file_id,
        "line": r.line_no,
        "order_id": r.order_id,
        "order_item_id": r.order_item_id,
        "status": r.status,
        "quantity": r.quantity,
        "ship_date": _iso(r.ship_date),
        "carrier": r.carrier,
        "tracking_number": r.tracking_number,
        "seconds_in_status": int(r.age.total_seconds()),
        "message": r.message,
        "mirrored": r.order is not None,
        "price": money_json(r.price),
        "order_date": _iso(r.order_date),
        "order_total": money_json(r.order_total),
    }


def view_totals_json(v: ViewTotals | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"lines": v.lines, "items": v.items, "amount": amounts_json(v.amount)}


def totals_json(page: BrowsePage) -> dict[str, Any]:
    """The page's totals, and the whole view's when it has at most COUNT_CAP lines."""
    return {
        "page": {"lines": len(page.rows), "items": page.items, "amount": amounts_json(page.amount)},
        "view": view_totals_json(page.view),
    }
