"""The Ledger: every change to an order line or a feed, as one named transaction each.

Each step records its state BEFORE the side effect it leads to, so that after a crash at
any point a new Ledger on the same database answers exactly what is left to do:

    claim_queued/prepare_feed  lines stay in_queue, reserved by feed_id; feed 'prepared'
                               with the exact XML bytes (nothing has left the machine)
    feed_document_created      the feed document id and upload URL (before the upload)
    feed_uploaded              feed 'uploaded' (before createFeed)
    create_feed_calling        createFeed's call time (the feed may exist on Amazon now)
    feed_created               feed 'created', its lines in_queue -> submitted
    complete_feed / fail_feed  lines confirmed / error, or back to the queue

Lines move to 'submitted' only once Amazon has accepted createFeed. A prepared or uploaded
feed is resumed with its stored bytes (feeds_to_resume), never rebuilt, so the same lines
cannot end up in two feeds. The one window no database can close is between createFeed
succeeding and feed_created committing: the resumer of a feed whose createFeed was called
must first ask Amazon (getFeeds) for the feed it does not know before calling createFeed
again, and the batcher keeps that answer unambiguous (one unresolved call per account).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from processors.ledger import migrate
from processors.ledger.base import utcnow
from processors.ledger.engine import IMMEDIATE, make_engine
from processors.ledger.errors import LedgerUnavailable
from processors.ledger.feedsteps import FeedSteps
from processors.ledger.filesteps import FileSteps
from processors.ledger.lock import InstanceLock
from processors.ledger.operatorsteps import OperatorSteps
from processors.ledger.ordersteps import OrderSteps
from processors.ledger.queuesteps import Claim, QueueSteps

__all__ = ["Claim", "Ledger", "utcnow"]


class Ledger(FileSteps, QueueSteps, FeedSteps, OrderSteps, OperatorSteps):
    """The single source of truth for files, order lines, feeds and their history.

    One facade over parts that each hold one thing: files (filesteps), the queue and its
    claims (queuesteps), feeds (feedsteps), order checks (ordersteps) and operator actions
    (operatorsteps), all on one core (base) and one way to change a status (moves).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_resends: int = 3,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, max_resends=max_resends, clock=clock)
        self._instance_lock: InstanceLock | None = None

    # -- opening ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        max_resends: int = 3,
        clock: Callable[[], datetime] = utcnow,
    ) -> Ledger:
        """Connect and upgrade the schema to the newest migration."""
        u = make_url(url)
        if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        try:
            conn = engine.connect().execution_options(**{IMMEDIATE: True})
            with conn, conn.begin():
                migrate.upgrade(conn)
        except OperationalError as exc:
            engine.dispose()
            raise LedgerUnavailable(
                f"cannot open the ledger at {u.render_as_string(hide_password=True)}: {exc.orig}",
                hint="check ledger_url and that the database server is running",
            ) from exc
        return cls(engine, max_resends=max_resends, clock=clock)

    def acquire_instance_lock(self) -> InstanceLock | None:
        """Refuse (AlreadyRunning) if another instance holds this SQLite ledger file.

        The lock belongs to the database file, not to a data_dir: two instances with
        different data dirs on one file would both batch and track the same feeds. On
        PostgreSQL any number of workers may run (each claim is a lock of its own), and
        an in-memory SQLite ledger is never shared, so no lock is taken and None returned.
        """
        db = self.engine.url.database
        if not self.is_sqlite or db in (None, "", ":memory:"):
            return None
        self._instance_lock = InstanceLock.beside(db).acquire()
        return self._instance_lock

    def close(self) -> None:
        if self._instance_lock is not None:
            self._instance_lock.release()
            self._instance_lock = None
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
