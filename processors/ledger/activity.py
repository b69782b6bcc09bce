"""Per seller and per day, how many lines were confirmed, rejected and put in error: the
console overview's 30-day chart.

Confirmed and error come from the running totals of lines that reached each status per
day (processors.ledger.tally, kept by the same statements as the events), rejected from
the files (lines refused at intake, on the day their file came in). Days are UTC.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from processors.ledger import tally
from processors.ledger.schema import files
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
        # Lines that reached confirmed or error per day: the running totals (tally.py)
        # instead of every event of the period joined to its line.
        reached = tally.reached(
            conn, first, [LineStatus.CONFIRMED.value, LineStatus.ERROR.value], seller
        )
        for (s, kind, d), n in reached.items():
            counts[(s, kind, d)] += n
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
