"""Which worker is sending which feed: a claim held for the whole of the send step.

Sending a prepared feed is up to three network calls (createFeedDocument, the upload of up
to ``feed.max_bytes``, createFeed, which Amazon may answer slowly), with a ledger commit
between them, because each step must be on record before the side effect that follows
it. Without a claim, a second worker resumes a feed the first is still sending: both
upload, both may call createFeed, and the loser's ledger step is refused.

Why this kind of lock (PostgreSQL): a session-level advisory lock, keyed by the ledger's
schema and the feed id, taken with ``pg_try_advisory_lock`` on a connection of its own and
held until the step ends.

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
reserves them to the feed, and from then on the feed's claim covers them.

Limit: the lock lives on one server session, so a PgBouncer in transaction-pooling mode
in front of the ledger would break it; use session pooling or a direct connection.

SQLite: one instance per ledger file (lock.py) is the only sender, so a claim always
succeeds and holds nothing.
"""

from __future__ import annotations

import logging
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


class FeedClaim:
    """This worker's hold on one feed; ``release`` (or leave the ``with``) when done."""

    def __init__(self, feed_id: int, conn: Connection | None, key: tuple[int, int] | None):
        self.feed_id = feed_id
        self._conn = conn
        self._key = key

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), _params(self._key))
            conn.close()
        except Exception as exc:  # the session is gone, and its lock with it
            log.debug("feed %d: claim released with its connection (%s)", self.feed_id, exc)
            conn.invalidate()
            conn.close()

    def __enter__(self) -> FeedClaim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _params(key: tuple[int, int] | None) -> dict[str, int]:
    assert key is not None
    return {"ns": key[0], "id": key[1]}


def _namespace(schema: str) -> int:
    """A 32-bit key per ledger: tests and tenants may keep several ledgers in one database,
    each with its own feed 1."""
    value = zlib.crc32(f"shipfeed.feeds.{schema}".encode())
    return value - 2**32 if value >= 2**31 else value


def try_claim(ledger: Ledger, feed_id: int) -> FeedClaim | None:
    """Claim ``feed_id`` for this worker, or None when another worker holds it."""
    if ledger.is_sqlite:
        return FeedClaim(feed_id, None, None)
    conn = ledger.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        key = (_namespace(schema), feed_id)
        got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :id)"), _params(key))
        if got.scalar_one():
            return FeedClaim(feed_id, conn, key)
    except BaseException:
        conn.close()
        raise
    conn.close()
    return None


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
