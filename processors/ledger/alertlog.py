"""The ledger's record of alerts sent: which alert went to which destination, and when.

Alerts are not stored when something goes wrong; they are derived from the ledger again
on every pass (processors/alertsources.py). This record is what makes that safe: an alert
already sent to a destination is never sent there again, whichever worker or restart
looks next, and the time of the last digest per destination keeps digests an interval
apart even when the service restarts in between.

PostgreSQL workers: one sender at a time, through a session advisory lock tried (never
waited for) on a connection of its own; a worker that does not get it skips the pass,
since the one holding it sends the same alerts. SQLite has a single instance (lock.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func, insert, select, text

from processors.ledger.engine import IMMEDIATE
from processors.ledger.schema import alerts_sent
from processors.ledger.store import Ledger

_LOCK_NAME = b"shipfeed:alerts"
_CHUNK = 500


def _lock_key(schema: str) -> int:
    return zlib.crc32(_LOCK_NAME + b":" + schema.encode()) & 0x7FFF_FFFF


@contextmanager
def sender_turn(ledger: Ledger) -> Iterator[bool]:
    """True when this process may send alerts now (PostgreSQL: holds the lock meanwhile)."""
    if ledger.engine.dialect.name != "postgresql":
        yield True
        return
    with ledger.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        key = _lock_key(str(schema))
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


def already_sent(ledger: Ledger, destination: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` this destination has been sent."""
    wanted = list(keys)
    found: set[str] = set()
    with ledger.reading() as conn:
        for i in range(0, len(wanted), _CHUNK):
            part = wanted[i : i + _CHUNK]
            q = select(alerts_sent.c.alert_key).where(
                alerts_sent.c.destination == destination, alerts_sent.c.alert_key.in_(part)
            )
            found.update(conn.execute(q).scalars())
    return found


def last_sent_at(ledger: Ledger, destination: str) -> datetime | None:
    """When this destination was last sent a digest."""
    with ledger.reading() as conn:
        return conn.execute(
            select(func.max(alerts_sent.c.sent_at)).where(alerts_sent.c.destination == destination)
        ).scalar()


def record_sent(
    ledger: Ledger,
    destination: str,
    sent: Iterable[tuple[str, str, str | None]],
    at: datetime,
) -> None:
    """Record ``(key, kind, seller)`` alerts as sent to ``destination``; ones already on
    record (a worker that sent them while this one did) are left as they are."""
    rows = [
        {"alert_key": k, "destination": destination, "kind": kind, "seller": s, "sent_at": at}
        for k, kind, s in sent
    ]
    conn = ledger.engine.connect().execution_options(**{IMMEDIATE: True})
    with conn, conn.begin():
        for i in range(0, len(rows), _CHUNK):
            part = rows[i : i + _CHUNK]
            have = set(
                conn.execute(
                    select(alerts_sent.c.alert_key).where(
                        alerts_sent.c.destination == destination,
                        alerts_sent.c.alert_key.in_([r["alert_key"] for r in part]),
                    )
                ).scalars()
            )
            new = [r for r in part if r["alert_key"] not in have]
            if new:
                conn.execute(insert(alerts_sent), new)
