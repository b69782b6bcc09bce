"""Which worker is sending or tracking which feed: a claim held for the whole step.

Sending a prepared feed is up to three network calls (createFeedDocument, the upload of up
to ``feed.max_bytes``, createFeed, which Amazon may answer slowly), with a ledger commit
between them, because each step must be on record before the side effect that follows
it. Without a claim, a second worker resumes a feed the first is still sending: both
upload, both may call createFeed, and the loser's ledger step is refused.

Why this kind of lock (PostgreSQL): a session-level advisory lock, keyed by the ledger's
schema and the feed id, taken with ``pg_try_advisory_lock`` on a connection of its own (one
per Ledger, open while it holds any claim) and held until the step ends.

* A row lock (SELECT ... FOR UPDATE SKIP LOCKED) ends with its transaction, and the step
  commits three times. Holding the feed row locked from a separate transaction would block
  the step's own updates of that row (the worker would wait for itself), and one
  transaction around the network calls would lose the step's records and pin a snapshot
  for minutes.
* A lease column (claimed_by, claimed_until) must outlast the slowest createFeed, and a
  crashed worker's feeds then wait out the lease before anyone resumes them. The advisory
  lock belongs to the connection: when the process dies, PostgreSQL drops it at once, so a
  restart or another worker resumes the feed straight away. Nothing stays open in a
  transaction while the calls run.
* ``try`` never waits: a feed another worker is sending is skipped, the way SKIP LOCKED
  skips a line another worker claimed.

A new feed is claimed inside the transaction that stores it, so no other worker ever sees
it unclaimed; a resumed one is read again after the claim, since the worker that held it
may have finished it meanwhile. Lines need no claim of their own here: claim_queued's
SKIP LOCKED row locks hold them up to prepare_feed (local work, one transaction), which
reserves them to the feed, and from then on the feed's claim covers them. (The direct
path's few confirmShipment calls run inside that claim transaction: a handful of orders,
so a transaction can span them.) The tracker claims a created feed the same way while it
polls it and applies its report, so two workers never apply one report twice.

Limit: the lock lives on one server session, so a PgBouncer in transaction-pooling mode
in front of the ledger would break it; use session pooling or a direct connection.

SQLite: one instance per ledger file (lock.py) is the only sender, so a claim always
succeeds and holds nothing.
"""

from __future__ import annotations

import logging
import threading
import weakref
import zlib
from collections.abc import Iterable
from types import TracebackType

from sqlalchemy import Connection, select, text

from processors.ledger.errors import LedgerError
from processors.ledger.records import FeedRow
from processors.ledger.schema import feeds
from processors.ledger.statuses import FeedState
from processors.ledger.store import Ledger

log = logging.getLogger(__name__)

RESUMABLE = (FeedState.PREPARED, FeedState.UPLOADED)


def _namespace(schema: str) -> int:
    """A 32-bit key per ledger: tests and tenants may keep several ledgers in one database,
    each with its own feed 1."""
    value = zlib.crc32(f"shipfeed.feeds.{schema}".encode())
    return value - 2**32 if value >= 2**31 else value


class _Holder:
    """The one connection that holds all of a Ledger's feed claims while any is held.

    One per Ledger, not one per claim: a batch split into many feed parts holds them all
    at once, and a pooled connection each could exhaust the pool the steps themselves need.
    PostgreSQL counts a session's advisory locks re-entrantly, so the held ids are kept
    here too: two threads of one Ledger never both get the same feed.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._engine = ledger.engine
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._ns = 0
        self._held: set[int] = set()

    def try_lock(self, feed_id: int) -> bool:
        with self._lock:
            if feed_id in self._held:
                return False
            conn = self._connection()
            try:
                got = bool(
                    conn.execute(
                        text("SELECT pg_try_advisory_lock(:ns, :id)"),
                        {"ns": self._ns, "id": feed_id},
                    ).scalar_one()
                )
            except BaseException:
                self._drop()
                raise
            if got:
                self._held.add(feed_id)
            elif not self._held:
                self._drop()
            return got

    def unlock(self, feed_id: int) -> None:
        with self._lock:
            if feed_id not in self._held or self._conn is None:
                return
            self._held.discard(feed_id)
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": self._ns, "id": feed_id}
                )
            except Exception as exc:  # the session is gone, and every lock with it
                log.debug("feed %d: claims released with their connection (%s)", feed_id, exc)
                self._held.clear()
                self._drop(broken=True)
                return
            if not self._held:
                self._drop()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
            except BaseException:
                conn.close()
                raise
            self._conn, self._ns = conn, _namespace(schema)
        return self._conn

    def _drop(self, *, broken: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if broken:
                conn.invalidate()
            conn.close()


_HOLDERS: weakref.WeakKeyDictionary[Ledger, _Holder] = weakref.WeakKeyDictionary()
_HOLDERS_LOCK = threading.Lock()


def _holder(ledger: Ledger) -> _Holder:
    with _HOLDERS_LOCK:
        holder = _HOLDERS.get(ledger)
        if holder is None:
            holder = _HOLDERS[ledger] = _Holder(ledger)
        return holder


class FeedClaim:
    """This worker's hold on one feed; ``release`` (or leave the ``with``) when done."""

    def __init__(self, feed_id: int, holder: _Holder | None) -> None:
        self.feed_id = feed_id
        self._holder = holder

    def release(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.unlock(self.feed_id)

    def __enter__(self) -> FeedClaim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def try_claim(ledger: Ledger, feed_id: int) -> FeedClaim | None:
    """Claim ``feed_id`` for this worker, or None when another worker holds it."""
    if ledger.is_sqlite:
        return FeedClaim(feed_id, None)
    holder = _holder(ledger)
    return FeedClaim(feed_id, holder) if holder.try_lock(feed_id) else None


def claim_new(ledger: Ledger, feed_id: int) -> FeedClaim:
    """Claim a feed this worker has just stored (before its transaction commits)."""
    claim = try_claim(ledger, feed_id)
    if claim is None:
        raise LedgerError(
            f"feed {feed_id} was claimed by another worker before it was even stored",
            hint="two ledgers in one database share a lock key; report this as a bug",
        )
    return claim


def resumable_feed_ids(ledger: Ledger, seller: str) -> list[int]:
    """Prepared and uploaded feeds of a seller, oldest first: a look, not a claim."""
    q = (
        select(feeds.c.id)
        .where(feeds.c.seller == seller, feeds.c.state.in_([s.value for s in RESUMABLE]))
        .order_by(feeds.c.id)
    )
    with ledger.reading() as conn:
        return [int(i) for i in conn.execute(q).scalars()]


def claimed_for_resume(ledger: Ledger, feed_id: int) -> tuple[FeedClaim, FeedRow] | None:
    """The feed with its stored bytes, claimed, if it still needs sending and no other
    worker is sending it; else None."""
    claim = try_claim(ledger, feed_id)
    if claim is None:
        return None
    try:
        feed = ledger.feed(feed_id, with_content=True)
    except BaseException:
        claim.release()
        raise
    if feed.state not in RESUMABLE:  # sent by the worker that held it until just now
        claim.release()
        return None
    return claim, feed


def release_all(claims: Iterable[FeedClaim]) -> None:
    for c in claims:
        c.release()
