"""Which worker polls which seller's inbox: leases in the ledger that expire.

Several ``run.py`` workers on one PostgreSQL ledger divide the sellers' inboxes (and the
other per-seller polling: the order mirror, due-orders files, archive purges) instead of
all listing every inbox. Each worker, every third of ``lease_seconds``:

1. ``announce_alive``: says it is alive until now + lease_seconds (table ``workers``);
2. ``renew_held``: moves the expiry of the leases it holds to now + lease_seconds;
3. its fair share is ceil(sellers / live workers); ``hand_over_surplus`` frees the
   leases it holds beyond that share, so a worker that just started gets some;
4. ``take_free`` takes free or expired leases up to its share (SKIP LOCKED, so two
   workers never take the same one).

A worker that is killed renews nothing: its leases expire ``lease_seconds`` after their
last renewal, and the next round of any other worker takes them (its share grows as the
dead worker drops out of the live count). A worker that stops cleanly hands all its
leases back at once (``hand_back_all``).

A lease only divides the work; it is not what keeps a file from being taken twice. A
worker stalled past its lease (a huge file, a frozen VM) may still be finishing a file
when another takes the seller over: each claimed file is held by its own worker
(processors/ledger/fileclaims.py), and lines and feeds by their row locks and claims.
Still, a worker whose renewal fails stops counting on its leases once they would have
expired (``held`` is empty from then on), so it never polls a seller it may have lost.

Times are the database's clock on PostgreSQL, so workers on machines whose clocks differ
agree on when a lease ends.

SQLite: one worker per ledger file (lock.py), which holds every seller; nothing is stored.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from processors.ledger.schema import inbox_leases, workers
from processors.ledger.store import Ledger

log = logging.getLogger(__name__)

#: A worker row not renewed for this many leases is removed by the next round anyone runs.
FORGET_AFTER_LEASES = 10


def worker_name() -> str:
    """This process among the workers: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class InboxLeases:
    """This worker's leases on its sellers' inboxes: ``keep()`` runs one round, ``held()``
    says which sellers it may poll now, ``hand_back_all()`` when it stops."""

    def __init__(
        self,
        ledger: Ledger,
        sellers: Sequence[str],
        lease_seconds: float,
        *,
        worker: str | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.sellers = sorted(set(sellers))
        self.lease = timedelta(seconds=lease_seconds)
        self.worker = worker or worker_name()
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.single = ledger.is_sqlite
        self._held: frozenset[str] = frozenset(self.sellers) if self.single else frozenset()
        self._valid_until = math.inf if self.single else -math.inf
        if not self.single:
            with ledger.engine.begin() as conn:
                add_sellers(conn, self.sellers)

    def held(self) -> frozenset[str]:
        """The sellers this worker may poll now: none once its leases may have expired
        without a renewal (the ledger unreachable, the keeper stalled)."""
        with self._lock:
            if self._monotonic() >= self._valid_until:
                return frozenset()
            return self._held

    def keep(self) -> frozenset[str]:
        """One round: announce, renew, hand over the surplus or take free leases."""
        if self.single:
            return self._held
        started = self._monotonic()
        with self.ledger.engine.begin() as conn:
            now = self._clock(conn)
            until = now + self.lease
            live = announce_alive(conn, self.worker, now, until)
            held = renew_held(conn, self.worker, self.sellers, until)
        share = math.ceil(len(self.sellers) / max(1, live))
        if len(held) > share:
            surplus = sorted(held)[share:]
            with self.ledger.engine.begin() as conn:
                hand_over_surplus(conn, self.worker, surplus)
            held -= set(surplus)
            log.info("handed %d inbox lease(s) over to other workers", len(surplus))
        elif len(held) < share:
            with self.ledger.engine.begin() as conn:
                got = take_free(conn, self.worker, self.sellers, share - len(held), now, until)
            if got:
                log.info("took %d inbox lease(s): %s", len(got), ", ".join(sorted(got)))
            held |= got
        with self._lock:
            self._held = frozenset(held)
            self._valid_until = started + self.lease.total_seconds()
            return self._held

    def hand_back_all(self) -> None:
        """A worker stopping cleanly frees its leases at once for the others."""
        with self._lock:
            self._held = frozenset()
            self._valid_until = -math.inf
        if self.single:
            return
        with self.ledger.engine.begin() as conn:
            hand_back_all(conn, self.worker)

    def _clock(self, conn: Connection) -> datetime:
        if self._now is not None:
            return self._now()
        value = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC) if isinstance(value, datetime) else datetime.now(UTC)


# -- the transitions, each a statement or two in the caller's transaction ------------------


def add_sellers(conn: Connection, sellers: Iterable[str]) -> None:
    """A free lease row for each seller that has none yet."""
    rows = [{"seller": s} for s in sellers]
    if rows:
        conn.execute(pg_insert(inbox_leases).values(rows).on_conflict_do_nothing())


def announce_alive(conn: Connection, worker: str, now: datetime, until: datetime) -> int:
    """Record this worker alive until ``until``; forget long-dead ones; how many live."""
    stmt = pg_insert(workers).values(worker=worker, alive_until=until)
    conn.execute(stmt.on_conflict_do_update(index_elements=["worker"], set_={"alive_until": until}))
    forget = now - (until - now) * FORGET_AFTER_LEASES
    conn.execute(delete(workers).where(workers.c.alive_until < forget))
    q = select(func.count()).select_from(workers).where(workers.c.alive_until > now)
    return int(conn.execute(q).scalar_one())


def renew_held(conn: Connection, worker: str, sellers: Sequence[str], until: datetime) -> set[str]:
    """Extend this worker's leases; the sellers it still holds (a lease taken over by
    another worker after it expired is not among them)."""
    stmt = (
        update(inbox_leases)
        .where(inbox_leases.c.holder == worker, inbox_leases.c.seller.in_(sellers))
        .values(expires_at=until)
        .returning(inbox_leases.c.seller)
    )
    return set(conn.execute(stmt).scalars())


def hand_over_surplus(conn: Connection, worker: str, sellers: Sequence[str]) -> None:
    """Free leases beyond this worker's share, for workers that hold fewer."""
    conn.execute(
        update(inbox_leases)
        .where(inbox_leases.c.holder == worker, inbox_leases.c.seller.in_(sellers))
        .values(holder=None, expires_at=None)
    )


def take_free(
    conn: Connection,
    worker: str,
    sellers: Sequence[str],
    limit: int,
    now: datetime,
    until: datetime,
) -> set[str]:
    """Take up to ``limit`` leases that are free or expired; rows another worker is
    taking at this moment are skipped, not waited for."""
    free = (
        select(inbox_leases.c.seller)
        .where(
            inbox_leases.c.seller.in_(sellers),
            (inbox_leases.c.holder.is_(None)) | (inbox_leases.c.expires_at <= now),
        )
        .order_by(inbox_leases.c.seller)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(inbox_leases)
        .where(inbox_leases.c.seller.in_(free.scalar_subquery()))
        .values(holder=worker, expires_at=until)
        .returning(inbox_leases.c.seller)
    )
    return set(conn.execute(stmt).scalars())


def hand_back_all(conn: Connection, worker: str) -> None:
    """A worker that stops: its leases free, and it no longer counts as live."""
    conn.execute(
        update(inbox_leases)
        .where(inbox_leases.c.holder == worker)
        .values(holder=None, expires_at=None)
    )
    conn.execute(delete(workers).where(workers.c.worker == worker))


def lease_holders(ledger: Ledger) -> dict[str, str | None]:
    """seller → the worker holding its lease now (None: free or expired), for tests and
    ``status``."""
    with ledger.reading() as conn:
        now = _db_now(ledger, conn)
        rows = conn.execute(
            select(inbox_leases.c.seller, inbox_leases.c.holder, inbox_leases.c.expires_at)
        )
        return {s: h if h is not None and e is not None and e > now else None for s, h, e in rows}


def live_workers(ledger: Ledger) -> list[str]:
    """The workers that said they are alive and whose word has not run out, by name."""
    with ledger.reading() as conn:
        now = _db_now(ledger, conn)
        q = select(workers.c.worker).where(workers.c.alive_until > now).order_by(workers.c.worker)
        return list(conn.execute(q).scalars())


def _db_now(ledger: Ledger, conn: Connection) -> datetime:
    """The clock leases are written with: the database's on PostgreSQL."""
    if ledger.is_sqlite:
        return datetime.now(UTC)
    return conn.execute(text("SELECT clock_timestamp()")).scalar_one()
