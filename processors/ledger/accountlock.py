"""One lock per selling-partner account around createFeed, its record and the lookup of a
lost answer: so "the feed I just created" can be told from another worker's.

Why: when createFeed's answer is lost (FeedSubmissionUnknown), the only way to learn the
feed's id is to ask Amazon for the feeds of that type created since just before the call
and take the one the ledger does not know. getFeeds lists every feed of the ACCOUNT (the
refresh token's selling partner), whoever created it, and Amazon's Feed carries nothing
that names its input document. A feed another worker has created but not yet recorded
(feed_created) is just as unknown, and was taken for the lost one: two ledger feeds
mapped to one Amazon feed, the lines of the other never sent yet confirmed by its report.
Held around createFeed, the record of its answer and the lookup (right after a lost
answer, and when an ``uploaded`` feed is resumed), the lock leaves no other live worker
an unrecorded feed on the account while the lookup runs.

The lock is per ACCOUNT (feeds.spapi.accounts.AccountKey: the refresh token's name and
the region), not per seller: sellers on one account share one list of feeds on Amazon.

PostgreSQL: a session-level advisory lock keyed by the ledger's schema and the account,
on a connection of its own for as long as it is held (the house style of feedclaims.py).
It is released when the hold ends, whatever ends it; if the unlock fails, the connection
is thrown away, and the session's locks go with it. A killed worker's session ends with
its process, and PostgreSQL drops the lock at once.
Waiting polls ``pg_try_advisory_lock`` instead of blocking in ``pg_advisory_lock``: a
blocked call cannot be interrupted, and the wait must end within a poll interval of a
stop (SIGTERM, --timeout), and after ``wait_seconds`` at most.

SQLite: one instance per ledger file (lock.py) is the only worker, so a lock in this
process is enough: a threading.Lock per ledger file and account.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from types import TracebackType
from typing import ClassVar, Protocol

from sqlalchemy import Connection, Engine, text

from feeds.errors import Stopping
from processors.ledger.errors import AccountBusy
from processors.ledger.store import Ledger

log = logging.getLogger(__name__)

#: How often a waiting worker asks again for the lock (and looks at the stop event).
POLL_SECONDS = 0.05


def _signed_crc(value: str) -> int:
    """A 32-bit key for one half of PostgreSQL's (int, int) advisory lock key."""
    n = zlib.crc32(value.encode())
    return n - 2**32 if n >= 2**31 else n


class _Lock(Protocol):
    def try_acquire(self) -> bool: ...

    def release(self) -> None:
        """Give the lock back (or the connection used to ask for it, when not held)."""


class _PgLock:
    """The account's advisory lock on a connection used for nothing else."""

    def __init__(self, engine: Engine, account: str) -> None:
        self._engine = engine
        self._key = _signed_crc(account)
        self._conn: Connection | None = None
        self._ns = 0
        self._held = False

    def try_acquire(self) -> bool:
        conn = self._connection()
        args = {"ns": self._ns, "key": self._key}
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), args)
            self._held = bool(got.scalar_one())
        except BaseException:
            self._drop(broken=True)
            raise
        return self._held

    def release(self) -> None:
        conn, held = self._conn, self._held
        self._held = False
        if conn is None:
            return
        if held:
            try:
                args = {"ns": self._ns, "key": self._key}
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), args)
            except Exception as exc:  # the session is gone, and the lock with it
                log.debug("account lock released with its connection (%s)", exc)
                self._drop(broken=True)
                return
        self._drop()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
            except BaseException:
                conn.close()
                raise
            # Per ledger schema: tests and tenants keep several ledgers in one database.
            self._conn, self._ns = conn, _signed_crc(f"shipfeed.accounts.{schema}")
        return self._conn

    def _drop(self, *, broken: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if broken:
                conn.invalidate()  # never back to the pool with a lock maybe still on it
            conn.close()


class _LocalLock:
    """SQLite: the one instance on a ledger file only needs to keep its threads apart."""

    _locks: ClassVar[dict[tuple[str, str], threading.Lock]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, engine: Engine, account: str) -> None:
        key = (str(engine.url.database), account)
        with self._guard:
            self._lock = self._locks.setdefault(key, threading.Lock())
        self._held = False

    def try_acquire(self) -> bool:
        self._held = self._lock.acquire(blocking=False)
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


class AccountHold:
    """This worker's hold on one account's lock; ``release`` (or leave the ``with``)."""

    def __init__(self, account: str, lock: _Lock) -> None:
        self.account = account
        self._lock: _Lock | None = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> AccountHold:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def hold_account(
    ledger: Ledger,
    account: str,
    *,
    stop: threading.Event,
    wait_seconds: float,
    poll_seconds: float = POLL_SECONDS,
) -> AccountHold:
    """Wait for ``account``'s lock and return the hold on it.

    Raises Stopping as soon as ``stop`` is set (within ``poll_seconds``), and AccountBusy
    when another worker still holds the lock after ``wait_seconds``; either way nothing is
    held. Not re-entrant: a thread that holds an account's lock must not ask again.
    """
    engine = ledger.engine
    lock: _Lock = _LocalLock(engine, account) if ledger.is_sqlite else _PgLock(engine, account)
    started = time.monotonic()
    try:
        while not lock.try_acquire():
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                raise AccountBusy(
                    f"another worker has held the feed lock of account {account} "
                    f"for over {wait_seconds:g} s",
                    hint="its createFeed is slow or stuck; the feed is sent by a later batch",
                )
            if stop.wait(min(poll_seconds, wait_seconds - waited)):
                raise Stopping("the run is stopping")
    except BaseException:
        lock.release()
        raise
    waited = time.monotonic() - started
    if waited >= 1.0:
        log.info("waited %.1f s for the feed lock of account %s", waited, account)
    return AccountHold(account, lock)
