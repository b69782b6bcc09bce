"""Per seller and per day, how many lines were confirmed, rejected and put in error: the
console overview's 30-day chart.

Confirmed and error come from the events (the day a line reached the status), rejected
from the files (lines refused at intake, on the day their file came in). Days are UTC.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from processors.ledger.schema import events, files, lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

KINDS = ("confirmed", "rejected", "error")


@dataclass
class SellerActivity:
    seller: str
    days: list[date]
    #: kind -> one count per day of ``days``
    series: dict[str, list[int]] = field(default_factory=dict)


def _day(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "sqlite":
        return func.date(column)  # stored as naive UTC text
    return func.date(func.timezone("UTC", column))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_activity(
    ledger: Ledger, sellers: list[str], days: int = 30, seller: str | None = None
) -> list[SellerActivity]:
    now: datetime = ledger.clock()
    first = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    wanted = [s for s in sellers if seller is None or s == seller]
    counts: dict[tuple[str, str, date], int] = defaultdict(int)
    with ledger.reading() as conn:
        eday = _day(conn, events.c.at)
        q = (
            select(lines.c.seller, events.c.to_status, eday, func.count())
            .join(lines, lines.c.id == events.c.line_id)
            .where(
                events.c.to_status.in_([LineStatus.CONFIRMED.value, LineStatus.ERROR.value]),
                events.c.at >= since,
            )
            .group_by(lines.c.seller, events.c.to_status, eday)
        )
        if seller is not None:
            q = q.where(lines.c.seller == seller)
        for s, kind, d, n in conn.execute(q).all():
            counts[(s, kind, _as_date(d))] += n
        fday = _day(conn, files.c.received_at)
        fq = (
            select(files.c.seller, fday, func.sum(files.c.rejected))
            .where(files.c.received_at >= since)
            .group_by(files.c.seller, fday)
        )
        if seller is not None:
            fq = fq.where(files.c.seller == seller)
        for s, d, n in conn.execute(fq).all():
            counts[(s, "rejected", _as_date(d))] += int(n or 0)
    all_days = [first + timedelta(days=i) for i in range(days)]
    return [
        SellerActivity(
            s, all_days, {k: [counts.get((s, k, d), 0) for d in all_days] for k in KINDS}
        )
        for s in wanted
    ]


def oldest_waiting_by_seller(ledger: Ledger, seller: str | None = None) -> dict[str, datetime]:
    """Per seller, since when its oldest queued line has waited: one grouped read of the
    queued lines, instead of a full status count per seller."""
    q = (
        select(lines.c.seller, func.min(lines.c.status_changed_at))
        .where(lines.c.status == LineStatus.IN_QUEUE.value)
        .group_by(lines.c.seller)
    )
    if seller is not None:
        q = q.where(lines.c.seller == seller)
    with ledger.reading() as conn:
        return {s: at for s, at in conn.execute(q).all() if at is not None}
