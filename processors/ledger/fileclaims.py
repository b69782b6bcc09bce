"""Which worker is taking which claimed file in: a hold kept by a live process.

A file in a seller's processing/ folder is either being taken in by a worker right now,
or was left there by a process that died (or failed) while taking it in. The folder
alone cannot tell the two apart, and several workers share one inbox. A worker that took
a neighbour's fresh claim for a crash leftover would read it a second time: the other
worker's archive step then meets a missing file (FileNotFoundError, FilesStuck), the
seller gets a false "already taken in" report or an intake report rebuilt from the
ledger, and the leftover's start is counted in the ``.attempts`` marker, so with enough
workers a good file could be quarantined as one that keeps killing its process.

So every claim is held, by the worker that made it, from before the file is moved into
processing/ until it has left it (archived, quarantined) or the worker gives up on it;
a claim no live worker holds is a leftover, and the worker that gets its hold resumes it.

PostgreSQL: a session-level advisory lock (as processors/ledger/feedclaims.py does for
feeds), keyed by the ledger's schema and a hash of (seller, claim name), taken with
``pg_try_advisory_lock`` on a connection of its own, open while the Ledger holds any
file. PostgreSQL drops it the moment the process dies, so a killed worker's file is
resumed by the next worker that looks, with no lease to wait out. The hash is 32 bits:
two claims that collide only make a leftover wait until the other file is finished, and
a new claim that collides is simply named again.

SQLite: one instance per ledger file (lock.py), so a set in this process is enough.

Limit: the lock lives on one server session; a PgBouncer in transaction-pooling mode in
front of the ledger would break it (use session pooling or a direct connection). If the
holding connection itself breaks (the server restarts), its holds are gone; the next
release notices and says so in the log.
"""

from __future__ import annotations

import logging
import threading
import weakref
import zlib
from types import TracebackType

from sqlalchemy import Connection, Engine, text

from processors.ledger.store import Ledger

log = logging.getLogger(__name__)


def _int32(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value


def _namespace(schema: str) -> int:
    """A 32-bit key per ledger, apart from the feed claims' keys of the same ledger."""
    return _int32(zlib.crc32(f"shipfeed.files.{schema}".encode()))


def _key(seller: str, claim_name: str) -> int:
    return _int32(zlib.crc32(f"{seller}\x00{claim_name}".encode()))


class _Holder:
    """All of one Ledger's file holds. On PostgreSQL one connection holds them all (a
    worker may hold every file it claimed in one pass); the held keys are kept here too,
    because PostgreSQL counts a session's advisory locks re-entrantly and two threads of
    one Ledger must not both get the same file."""

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine  # None: SQLite, where the set alone holds
        self._sqlite = engine is None
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._ns = 0
        self._held: set[int] = set()

    def try_hold(self, key: int) -> bool:
        with self._lock:
            if key in self._held:
                return False
            if not self._sqlite and not self._try_lock(key):
                return False
            self._held.add(key)
            return True

    def release(self, key: int) -> None:
        with self._lock:
            if key not in self._held:
                return
            self._held.discard(key)
            if self._sqlite or self._conn is None:
                return
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": self._ns, "key": key}
                )
            except Exception as exc:  # the session is gone, and every hold with it
                log.warning("file holds lost with their ledger connection: %s", exc)
                self._held.clear()
                self._drop(broken=True)
                return
            if not self._held:
                self._drop()

    def _try_lock(self, key: int) -> bool:
        conn = self._connection()
        try:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": self._ns, "key": key}
                ).scalar_one()
            )
        except BaseException:
            self._held.clear()  # a broken session holds nothing any more
            self._drop(broken=True)
            raise
        if not got and not self._held:
            self._drop()
        return got

    def _connection(self) -> Connection:
        if self._conn is None:
            assert self._engine is not None
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
#: SQLite: by database, so every Ledger this process opens on one file shares the set.
_SQLITE_HOLDERS: dict[str, _Holder] = {}
_HOLDERS_LOCK = threading.Lock()


def _holder(ledger: Ledger) -> _Holder:
    with _HOLDERS_LOCK:
        if ledger.is_sqlite:
            url = ledger.engine.url.render_as_string(hide_password=False)
            return _SQLITE_HOLDERS.setdefault(url, _Holder(None))
        holder = _HOLDERS.get(ledger)
        if holder is None:
            holder = _HOLDERS[ledger] = _Holder(ledger.engine)
        return holder


class FileHold:
    """This worker's hold on one claimed file; ``release`` (or leave the ``with``) once
    the file has left processing/ or is given up on for this pass."""

    def __init__(self, seller: str, claim_name: str, key: int, holder: _Holder) -> None:
        self.seller = seller
        self.claim_name = claim_name
        self._key = key
        self._holder: _Holder | None = holder

    def release(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.release(self._key)

    def __enter__(self) -> FileHold:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def try_hold(ledger: Ledger, seller: str, claim_name: str) -> FileHold | None:
    """Hold ``seller``'s claim ``claim_name`` for this worker, or None when a live worker
    (this one included) holds it already.

    Taken for a new claim before the file is moved into processing/, so no other worker
    ever sees it there unheld; for a claim found in processing/, success means no live
    worker is taking it in: it is a leftover, unless it has left processing/ meanwhile
    (the caller looks again after the hold).
    """
    key = _key(seller, claim_name)
    holder = _holder(ledger)
    return FileHold(seller, claim_name, key, holder) if holder.try_hold(key) else None
