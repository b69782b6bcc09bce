"""When a resend cannot help: lines the operator's ``resend`` leaves alone unless forced.

A resend sends the line exactly as it was received. That helps when the feed failed or
got lost, never when Amazon refused the line for what it says (see
processors.outcomes.CONTENT_REJECTIONS), and it does harm when the seller has already
sent a corrected line for the same order item: the stale one would go out after it.
Kept out of the store so that the rule reads in one place and the store does not grow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from processors.ledger.schema import files, lines
from processors.ledger.statuses import LineStatus
from processors.outcomes import content_rejection

S = LineStatus
#: Later lines of these statuses do not replace an earlier line: a duplicate repeats one
#: that is queued, sent or confirmed, and a conflict waits for an operator.
_NOT_A_REPLACEMENT = {S.DUPLICATE.value, S.CONFLICT.value}
_ORDER_CHUNK = 1_000


def resend_blockers(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """For each line in error or needing attention that must not go out again as it is,
    the reason in words a seller or operator can act on. Lines not listed may be resent."""
    failed = [r for r in rows if r["status"] in (S.ERROR, S.NEEDS_ATTENTION)]
    if not failed:
        return {}
    newer = _newer_lines(conn, failed)
    out: dict[int, str] = {}
    for r in failed:
        later = newer.get(r["id"])
        if later is not None:
            line_no, name, status = later
            out[r["id"]] = (
                f"superseded by the corrected line {line_no} of {name} ({status}) for the "
                "same order item; that line is the one sent, so this one is not resent "
                "(use force to send this old line anyway)"
            )
            continue
        content = content_rejection(r.get("result_code"))
        if content is not None:
            out[r["id"]] = (
                f"{content}; sending it unchanged would be refused again: upload a corrected "
                "line in a new file, or use force to send it as it is"
            )
    return out


def _newer_lines(
    conn: Connection, failed: list[Mapping[str, Any]]
) -> dict[int, tuple[int, str, str]]:
    """Each failed line's newest later line for the same seller, order and item."""
    keys: dict[tuple[str, str, str | None], list[int]] = {}
    for r in failed:
        keys.setdefault((r["seller"], r["order_id"], r["order_item_id"]), []).append(r["id"])
    orders = sorted({r["order_id"] for r in failed})
    found: dict[int, tuple[int, str, str]] = {}
    for i in range(0, len(orders), _ORDER_CHUNK):
        q = (
            select(
                lines.c.id,
                lines.c.seller,
                lines.c.order_id,
                lines.c.order_item_id,
                lines.c.status,
                lines.c.line_no,
                files.c.name,
            )
            .join(files, files.c.id == lines.c.file_id)
            .where(lines.c.order_id.in_(orders[i : i + _ORDER_CHUNK]))
            .order_by(lines.c.id)
        )
        for m in conn.execute(q).mappings():
            if m["status"] in _NOT_A_REPLACEMENT:
                continue
            for old in keys.get((m["seller"], m["order_id"], m["order_item_id"]), ()):
                if m["id"] > old:
                    found[old] = (m["line_no"], m["name"], m["status"])
    return found
