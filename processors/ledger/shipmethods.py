"""Ship methods filled from the order mirror before sending, many lines per statement.

A line with tracking but no ship method is sent with the buyer's ship service level
(Amazon's advice). With every queued order checked against the mirror, filling them one
line per transaction cost a commit (an fsync on SQLite) per line: 3,000 lines took almost
a minute. Here one transaction fills them all, one UPDATE per ship service level and chunk.

Only lines still queued and not reserved in a feed change: a line another worker has
just claimed keeps what it was sent with (the WHERE decides, no read before).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update

from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

_CHUNK = 5_000


def fill_ship_methods(ledger: Ledger, methods: Mapping[int, str]) -> int:
    """Set ``methods`` (line id -> ship method) on lines still queued, unreserved and
    without one; returns how many lines changed."""
    by_method: dict[str, list[int]] = {}
    for line_id, method in methods.items():
        by_method.setdefault(method, []).append(line_id)
    changed = 0
    now = ledger.clock()
    with ledger._writing() as conn:
        for method, ids in by_method.items():
            for start in range(0, len(ids), _CHUNK):
                result = conn.execute(
                    update(lines)
                    .where(
                        lines.c.id.in_(ids[start : start + _CHUNK]),
                        lines.c.status == LineStatus.IN_QUEUE.value,
                        lines.c.feed_id.is_(None),
                        (lines.c.ship_method.is_(None)) | (lines.c.ship_method == ""),
                    )
                    .values(ship_method=method, updated_at=now)
                )
                changed += result.rowcount
    return changed
