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

from sqlalchemy import and_, select

from processors.ledger.moves import Move
from processors.ledger.schema import files, lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

S = LineStatus
_FAILED = [S.ERROR.value, S.NEEDS_ATTENTION.value]


def supersede_replaced(ledger: Ledger, file_id: int) -> list[int]:
    """Earlier failed lines of the same seller, order and item as a line this file queued
    -> superseded. Returns their ids."""
    new = lines.alias("new_line")
    q = (
        select(
            lines,
            new.c.id.label("new_id"),
            new.c.line_no.label("new_line_no"),
            new.c.order_item_id.label("new_item"),
            files.c.name.label("new_file"),
        )
        .join(
            new,
            and_(
                new.c.order_id == lines.c.order_id,
                new.c.seller == lines.c.seller,
                new.c.id > lines.c.id,
            ),
        )
        .join(files, files.c.id == new.c.file_id)
        .where(
            lines.c.status.in_(_FAILED),
            new.c.file_id == file_id,
            new.c.status == S.IN_QUEUE.value,
        )
        .order_by(lines.c.id, new.c.id)
    )
    with ledger._writing() as conn:
        found: dict[int, dict[str, Any]] = {}
        locked = q if ledger.is_sqlite else q.with_for_update(of=lines)
        for m in conn.execute(locked).mappings():
            if m["order_item_id"] == m["new_item"] and m["id"] not in found:
                found[m["id"]] = dict(m)
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
