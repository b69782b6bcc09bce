"""Record that a later upload replaces an earlier queued line (processors.supersede).

In the batcher's claim transaction, so the decision and the feed built on it commit
together: a crash before the commit leaves both lines queued and the next batch decides
again, the same way. Both lines say so: the earlier one in its status and message, the
later one in its message and ``duplicate_of`` (read again when Amazon confirms it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select, update

from processors.ledger.moves import Move
from processors.ledger.records import LineRow
from processors.ledger.schema import files, lines
from processors.ledger.statuses import LineStatus

if TYPE_CHECKING:
    from processors.ledger.base import LedgerBase


def supersede(
    ledger: LedgerBase, conn: Connection, pairs: Sequence[tuple[LineRow, LineRow]]
) -> None:
    """Each (earlier, later) pair: the earlier queued line -> superseded by the later one."""
    if not pairs:
        return
    ids = {r.file_id for pair in pairs for r in pair}
    names = dict(conn.execute(select(files.c.id, files.c.name).where(files.c.id.in_(ids))).all())
    rows = {r["id"]: r for r in ledger._lines_by_id(conn, [e.id for e, _ in pairs])}
    moves: list[Move] = []
    latest_for: dict[int, LineRow] = {}
    for earlier, later in pairs:
        moves.append(
            Move(
                rows[earlier.id],
                LineStatus.SUPERSEDED,
                f"superseded by line {later.line} of {names[later.file_id]} (tracking "
                f"{later.tracking_number or '-'}), a later upload for the same order item: "
                "that line is sent instead, this one is not",
            )
        )
        if latest_for.get(later.id) is None or latest_for[later.id].id < earlier.id:
            latest_for[later.id] = earlier
    ledger._move(conn, moves)
    for later_id, earlier in latest_for.items():
        conn.execute(
            update(lines)
            .where(lines.c.id == later_id)
            .values(
                duplicate_of=earlier.id,
                message=f"a correction of line {earlier.line} of {names[earlier.file_id]} "
                f"(tracking {earlier.tracking_number or '-'}), which is superseded and not sent",
                updated_at=ledger.clock(),
            )
        )


def corrected(ledger: LedgerBase, line_ids: Sequence[int]) -> dict[int, str]:
    """For superseded lines: 'line N of FILE' words, by line id (for the later line's
    confirmation message)."""
    if not line_ids:
        return {}
    q = (
        select(lines.c.id, lines.c.line_no, files.c.name)
        .join(files, files.c.id == lines.c.file_id)
        .where(lines.c.id.in_(list(line_ids)))
    )
    with ledger.reading() as conn:
        return {int(i): f"line {n} of {name}" for i, n, name in conn.execute(q)}
