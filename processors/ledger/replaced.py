"""Failed lines a seller replaced: a corrected line for the same order item arrived.

A line Amazon refused (a mistyped tracking number, 18339) or that failed until it needed
attention is fixed by the seller the only way a seller can: by uploading the line again,
corrected, in a new file. The new line is queued like any other; the old one must not be
resent after it (processors.ledger.resendrules), and it should say why it will not be:
it ends ``superseded``, naming the line that replaced it.

Run right after a file's intake commits. A crash in between leaves the old line in
error: nothing is lost, the resend rules still refuse to resend it, and the next intake
of any file for that item (or this step run again) supersedes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, any_, func, select

from processors.ledger.moves import ID_CHUNK, Move
from processors.ledger.schema import files, lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

S = LineStatus
_FAILED = [S.ERROR.value, S.NEEDS_ATTENTION.value]


def supersede_replaced(ledger: Ledger, file_id: int) -> list[int]:
    """Earlier failed lines of the same seller, order and item as a line this file queued
    -> superseded. Returns their ids.

    Two plain lookups, not one self-join of ``lines``: on a PostgreSQL ledger not analyzed
    yet (a new one, or one that just took in its first big file) the planner joined each
    new line to every earlier line of the seller, 44 to 57 s for a 10,000-line POST. Here
    the failed lines are found from this file's order ids, computed once (an array), and
    only then the file's lines for the orders that have one.
    """
    fresh = (
        select(lines.c.order_id)
        .where(lines.c.file_id == file_id, lines.c.status == S.IN_QUEUE.value)
        .scalar_subquery()
    )
    with ledger._writing() as conn:
        in_file: ColumnElement[bool] = (
            lines.c.order_id.in_(fresh)
            if ledger.is_sqlite
            else lines.c.order_id == any_(func.array(fresh))
        )
        file_q = select(files.c.seller, files.c.name).where(files.c.id == file_id)
        seller = conn.execute(file_q).one()
        q = (
            select(lines)
            .where(lines.c.seller == seller.seller, lines.c.status.in_(_FAILED), in_file)
            .order_by(lines.c.id)
        )
        failed = [dict(r) for r in conn.execute(ledger._lock(q)).mappings()]
        if not failed:
            return []
        orders = sorted({r["order_id"] for r in failed})
        new: dict[str, list[Any]] = {}
        for i in range(0, len(orders), ID_CHUNK):
            nq = (
                select(lines.c.id, lines.c.line_no, lines.c.order_id, lines.c.order_item_id)
                .where(
                    lines.c.file_id == file_id,
                    lines.c.status == S.IN_QUEUE.value,
                    lines.c.order_id.in_(orders[i : i + ID_CHUNK]),
                )
                .order_by(lines.c.id)
            )
            for n in conn.execute(nq):
                new.setdefault(n.order_id, []).append(n)
        found: dict[int, dict[str, Any]] = {}
        for r in failed:
            later = (
                n
                for n in new.get(r["order_id"], ())
                if n.id > r["id"] and n.order_item_id == r["order_item_id"]
            )
            first = next(later, None)
            if first is not None:
                found[r["id"]] = {
                    **r,
                    "new_id": first.id,
                    "new_line_no": first.line_no,
                    "new_item": first.order_item_id,
                    "new_file": seller.name,
                }
        moves = [
            Move(
                r,
                S.SUPERSEDED,
                f"superseded by the corrected line {r['new_line_no']} of {r['new_file']} for "
                "the same order item: that line is sent instead, this one is not resent",
            )
            for r in found.values()
        ]
        ledger._move(conn, moves)
    return list(found)
