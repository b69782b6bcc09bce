"""The API's JSON for ledger records: plain dicts, times as ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processors.apiintake import verdict
from processors.ledger.browse import BrowseRow
from processors.ledger.queries import FileLine, LineHistory
from processors.ledger.records import FileRecord, LineRow
from processors.ledger.uploads import UploadNotTaken


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


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


def verdict_json(ln: FileLine) -> dict[str, Any]:
    out: dict[str, Any] = {"line": ln.line, "verdict": verdict(ln)}
    if ln.line_id is not None:
        out.update(line_id=ln.line_id, order_id=ln.order_id, status=ln.outcome)
        if ln.message:
            out["message"] = ln.message
    if ln.errors:
        out["errors"] = [
            {"field": e.column, "value": e.value, "reason": e.reason} for e in ln.errors
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
    }
