"""The overview's counts at a glance: lines in each status, the oldest line waiting (in
all and per seller), feeds stuck. Read from the running totals (processors.ledger.tally)
and single index steps, so the overview costs the same at a million lines as at ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from processors.ledger import tally
from processors.ledger.schema import feeds, lines
from processors.ledger.statuses import FeedState, LineStatus
from processors.ledger.store import Ledger
from processors.ledger.tracking import STUCK_PREFIX


@dataclass(frozen=True, slots=True)
class Glance:
    counts: dict[str, int]  # every status, zeros included
    oldest_waiting: datetime | None
    oldest_by_seller: dict[str, datetime]
    feeds_stuck: int


def fold_if_due(ledger: Ledger) -> None:
    """Fold the totals' delta rows once there are many (a short write of its own)."""
    with ledger.reading() as conn:
        due = tally.needs_folding(conn)
    if due:
        with ledger._writing() as conn:
            tally.fold(conn)


def glance(ledger: Ledger, seller: str | None = None) -> Glance:
    fold_if_due(ledger)
    with ledger.reading() as conn:
        per_seller = tally.current(conn, seller)
        counts = {s.value: 0 for s in LineStatus}
        for by_status in per_seller.values():
            for status, n in by_status.items():
                counts[status] = counts.get(status, 0) + n
        waiting = [s for s, c in per_seller.items() if c.get(LineStatus.IN_QUEUE.value)]
        oldest = {s: at for s in waiting if (at := _oldest_waiting(conn, s)) is not None}
        stuck = (
            select(func.count())
            .select_from(feeds)
            .where(feeds.c.state == FeedState.CREATED, feeds.c.reason.like(f"{STUCK_PREFIX}%"))
        )
        if seller is not None:
            stuck = stuck.where(feeds.c.seller == seller)
        return Glance(
            counts=counts,
            oldest_waiting=min(oldest.values(), default=None),
            oldest_by_seller=oldest,
            feeds_stuck=conn.execute(stuck).scalar_one(),
        )


def _oldest_waiting(conn: Connection, seller: str) -> datetime | None:
    """One step down the (seller, status, status_changed_at) index."""
    q = (
        select(lines.c.status_changed_at)
        .where(lines.c.seller == seller, lines.c.status == LineStatus.IN_QUEUE.value)
        .order_by(lines.c.status_changed_at)
        .limit(1)
    )
    found: datetime | None = conn.execute(q).scalar()
    return found
