"""The Ledger: every change to an order line or a feed, as one named transaction each.

Each step records its state BEFORE the side effect it leads to, so that after a crash at
any point a new Ledger on the same database answers exactly what is left to do:

    claim_queued/prepare_feed  lines stay in_queue, reserved by feed_id; feed 'prepared'
                               with the exact XML bytes (nothing has left the machine)
    feed_document_created      the feed document id and upload URL (before the upload)
    feed_uploaded              feed 'uploaded' (before createFeed)
    feed_created               feed 'created', its lines in_queue -> submitted
    complete_feed / fail_feed  lines confirmed / error, or back to the queue

Lines move to 'submitted' only once Amazon has accepted createFeed. A prepared or uploaded
feed is resumed with its stored bytes (feeds_to_resume), never rebuilt, so the same lines
cannot end up in two feeds. The one window no database can close is between createFeed
succeeding and feed_created committing: the resumer must first ask Amazon (getFeeds) for a
feed made from the stored feed_document_id before calling createFeed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from feeds.model import LineError, Shipment
from processors.ledger import migrate
from processors.ledger.base import LedgerBase, inserted_id, utcnow
from processors.ledger.correctionmark import is_correction
from processors.ledger.engine import IMMEDIATE, make_engine
from processors.ledger.errors import (
    CannotCancel,
    FeedStateError,
    IllegalTransition,
    LedgerError,
    LedgerUnavailable,
    LinesNotQueued,
    UnknownRecord,
)
from processors.ledger.fileintake import FileIntake
from processors.ledger.lock import InstanceLock
from processors.ledger.moves import ID_CHUNK, MOVE_COLUMNS, Move
from processors.ledger.records import (
    DuplicateFile,
    FeedRow,
    FileRecord,
    LineRow,
    Outcome,
    ResendResult,
)
from processors.ledger.resendrules import resend_blockers
from processors.ledger.schema import feeds, files, lines
from processors.ledger.statuses import FeedState, FileStatus, LineStatus

S = LineStatus
F = FeedState
#: A feed's columns but its content: the XML (up to feed.max_bytes) is read only where it
#: is sent. Read with every poll and every step, 30-odd stored feeds of 10 MB each made
#: the tracker read hundreds of MB per pass, and grew the heap by as much.
_FEED_META = [c for c in feeds.c if c.name != "content"]
#: Kept under their old names for the modules beside the store that import them here.
_Move = Move
_MOVE_COLUMNS = MOVE_COLUMNS


class Ledger(LedgerBase):
    """The single source of truth for files, order lines, feeds and their history."""

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

    # -- intake -----------------------------------------------------------------------

    def begin_file(
        self,
        seller: str,
        name: str,
        sha256: str,
        size: int,
        *,
        received_at: datetime | None = None,
        claim_name: str | None = None,
    ) -> FileIntake | DuplicateFile:
        """Open the intake transaction of one file, or recognise content seen before.

        The caller streams chunks with add_lines() and ends with finish_file(); until then
        the file and its lines are invisible to everyone else. ``claim_name``: the file's
        name in the inbox's processing/ and archive/ folders, recorded with it so that its
        result report can read the seller's original rows again.
        """
        earlier = self._file_by_sha(seller, sha256)
        if earlier is not None:
            return DuplicateFile(earlier=earlier, name=name)
        now = self.clock()
        conn = self.engine.connect().execution_options(**{IMMEDIATE: True})
        tx = conn.begin()
        row: dict[str, Any] = {
            "seller": seller,
            "name": name,
            "sha256": sha256,
            "size": size,
            "received_at": received_at or now,
            "lines": 0,
            "accepted": 0,
            "rejected": 0,
            "duplicates": 0,
            "conflicts": 0,
            "status": FileStatus.RECEIVED.value,
            "result_report": None,
            "error_report": None,
            "claim_name": claim_name,
        }
        try:
            # Checked again inside the write transaction: another worker may have won.
            found = conn.execute(
                select(files).where(files.c.seller == seller, files.c.sha256 == sha256)
            ).first()
            if found is None:
                row["id"] = inserted_id(conn.execute(insert(files).values(**row)))
        except IntegrityError:
            found = None
            tx.rollback()
            conn.close()
            again = self._file_by_sha(seller, sha256)
            if again is None:
                raise
            return DuplicateFile(earlier=again, name=name)
        except BaseException:
            tx.rollback()
            conn.close()
            raise
        if found is not None:
            tx.rollback()
            conn.close()
            return DuplicateFile(earlier=FileRecord.from_mapping(found._mapping), name=name)
        return FileIntake(conn, tx, row, now)

    def record_file(
        self,
        seller: str,
        name: str,
        sha256: str,
        size: int,
        lines_in_file: int | None,
        shipments: Iterable[Shipment],
        rejected: Iterable[LineError],
        *,
        received_at: datetime | None = None,
    ) -> FileRecord | DuplicateFile:
        """Take in one whole file in one transaction (see begin_file for big files)."""
        intake = self.begin_file(seller, name, sha256, size, received_at=received_at)
        if isinstance(intake, DuplicateFile):
            return intake
        with intake:
            intake.add_lines(shipments, rejected)
            return intake.finish_file(lines_in_file)

    def _file_by_sha(self, seller: str, sha256: str) -> FileRecord | None:
        with self.reading() as conn:
            r = conn.execute(
                select(files).where(files.c.seller == seller, files.c.sha256 == sha256)
            ).first()
        return None if r is None else FileRecord.from_mapping(r._mapping)

    def file(self, file_id: int) -> FileRecord:
        with self.reading() as conn:
            r = conn.execute(select(files).where(files.c.id == file_id)).first()
        if r is None:
            raise UnknownRecord("file", [file_id])
        return FileRecord.from_mapping(r._mapping)

    def set_file_reports(
        self,
        file_id: int,
        result_report: str | None,
        error_report: str | None,
        *,
        reported_at: datetime | None = None,
    ) -> None:
        """Record where the file's reports were written; the file is then done.
        ``reported_at``: when the report's content was read (default: now)."""
        with self._writing() as conn:
            n = conn.execute(
                update(files)
                .where(files.c.id == file_id)
                .values(
                    result_report=result_report,
                    error_report=error_report,
                    status=FileStatus.DONE.value,
                    reported_at=reported_at or self.clock(),
                )
            ).rowcount
        if not n:
            raise UnknownRecord("file", [file_id])

    # -- batching ---------------------------------------------------------------------

    @contextmanager
    def claim_queued(self, seller: str, limit: int) -> Iterator[Claim]:
        """Hold up to ``limit`` free queued lines of a seller while a feed is built.

        On PostgreSQL the lines are row-locked with FOR UPDATE SKIP LOCKED, so concurrent
        workers each get different lines; on SQLite the claim is the single writer
        (BEGIN IMMEDIATE). The locks last until the block ends: call
        ``claim.prepare_feed(...)`` inside it. Leaving the block without preparing a feed
        leaves the lines in the queue.
        """
        with self._writing() as conn:
            q = (
                select(lines)
                .where(
                    lines.c.seller == seller,
                    lines.c.status == S.IN_QUEUE,
                    lines.c.feed_id.is_(None),
                    # Corrections never go in a feed (processors.ledger.corrections).
                    or_(lines.c.duplicate_of.is_(None), ~is_correction()),
                )
                .order_by(lines.c.id)
                .limit(limit)
            )
            if not self.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            rows = [LineRow.from_mapping(r) for r in conn.execute(q).mappings()]
            yield Claim(self, conn, seller, rows)

    def queued_lines(self, seller: str, limit: int) -> list[LineRow]:
        """A look (no lock) at the free queued lines, e.g. to check orders before claiming."""
        with self.reading() as conn:
            q = (
                select(lines)
                .where(
                    lines.c.seller == seller,
                    lines.c.status == S.IN_QUEUE,
                    lines.c.feed_id.is_(None),
                    # Corrections never go in a feed (processors.ledger.corrections).
                    or_(lines.c.duplicate_of.is_(None), ~is_correction()),
                )
                .order_by(lines.c.id)
                .limit(limit)
            )
            return [LineRow.from_mapping(r) for r in conn.execute(q).mappings()]

    def prepare_feed(
        self,
        seller: str,
        line_ids: Collection[int],
        content: bytes,
        message_map: Mapping[int, Sequence[int]],
    ) -> int:
        """Store a built feed and reserve its lines (they stay in_queue until created).

        Raises LinesNotQueued if any line is no longer free (then claim again).
        """
        with self._writing() as conn:
            return self._prepare_feed(conn, seller, line_ids, content, message_map)

    def _prepare_feed(
        self,
        conn: Connection,
        seller: str,
        line_ids: Collection[int],
        content: bytes,
        message_map: Mapping[int, Sequence[int]],
    ) -> int:
        mapped = [lid for ids in message_map.values() for lid in ids]
        if len(mapped) != len(set(mapped)) or set(mapped) != set(line_ids) or not mapped:
            raise LedgerError(
                "prepare_feed: every line must be in exactly one message of the feed "
                f"({len(set(line_ids))} lines given, {len(mapped)} mapped to messages)",
                hint="this is a bug in the batcher",
            )
        rows = self._lines_by_id(conn, line_ids, columns=("status", "feed_id", "seller"))
        taken = [
            r["id"]
            for r in rows
            if r["status"] != S.IN_QUEUE or r["feed_id"] is not None or r["seller"] != seller
        ]
        if taken:
            raise LinesNotQueued(
                f"{len(taken)} of the {len(rows)} lines are no longer free in {seller}'s "
                f"queue (e.g. line {taken[0]}); no feed was stored",
                hint="claim the queue again and rebuild the feed",
            )
        now = self.clock()
        feed_id = inserted_id(
            conn.execute(
                insert(feeds).values(
                    seller=seller,
                    state=F.PREPARED.value,
                    content=content,
                    content_sha256=hashlib.sha256(content).hexdigest(),
                    messages=len(message_map),
                    created_at=now,
                    updated_at=now,
                    poll_count=0,
                )
            )
        )
        params = [{"b_id": lid, "b_msg": msg} for msg, ids in message_map.items() for lid in ids]
        stmt = (
            update(lines)
            .where(lines.c.id == bindparam("b_id"))
            .values(feed_id=feed_id, message_id=bindparam("b_msg"), updated_at=now)
        )
        for i in range(0, len(params), ID_CHUNK):
            conn.execute(stmt, params[i : i + ID_CHUNK])
        return feed_id

    def _feed_for_update(self, conn: Connection, feed_id: int) -> dict[str, Any]:
        r = conn.execute(self._lock(select(*_FEED_META).where(feeds.c.id == feed_id))).first()
        if r is None:
            raise UnknownRecord("feed", [feed_id])
        return dict(r._mapping)

    def feed_document_created(self, feed_id: int, document_id: str, upload_url: str) -> None:
        """Record the feed document before uploading to it (a cut upload can be retried)."""
        with self._writing() as conn:
            f = self._feed_for_update(conn, feed_id)
            if f["state"] != F.PREPARED:
                raise FeedStateError(
                    f"feed {feed_id} is {f['state']}; a feed document belongs to a prepared feed"
                )
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(
                    feed_document_id=document_id, upload_url=upload_url, updated_at=self.clock()
                )
            )

    def feed_uploaded(self, feed_id: int, document_id: str, upload_url: str | None = None) -> None:
        """The content is uploaded to ``document_id``; createFeed comes next.

        Repeating it for the same document is harmless (a resumed step).
        """
        with self._writing() as conn:
            f = self._feed_for_update(conn, feed_id)
            if f["state"] == F.UPLOADED and f["feed_document_id"] == document_id:
                return
            if f["state"] != F.PREPARED:
                raise FeedStateError(
                    f"feed {feed_id} is {f['state']}; only a prepared feed can be uploaded"
                )
            now = self.clock()
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(
                    state=F.UPLOADED.value,
                    feed_document_id=document_id,
                    upload_url=upload_url or f["upload_url"],
                    uploaded_at=now,
                    updated_at=now,
                )
            )

    def feed_created(self, feed_id: int, amazon_feed_id: str) -> list[int]:
        """Amazon accepted createFeed: the feed's lines go in_queue -> submitted.

        Returns the submitted line ids. Repeating it with the same Amazon id is harmless.
        """
        with self._writing() as conn:
            f = self._feed_for_update(conn, feed_id)
            if f["state"] == F.CREATED and f["amazon_feed_id"] == amazon_feed_id:
                return []
            if f["state"] != F.UPLOADED:
                raise FeedStateError(
                    f"feed {feed_id} is {f['state']}; createFeed is recorded only after upload"
                )
            now = self.clock()
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(
                    state=F.CREATED.value,
                    amazon_feed_id=amazon_feed_id,
                    submitted_at=now,
                    updated_at=now,
                )
            )
            rows = self._feed_lines(conn, feed_id, [S.IN_QUEUE], columns=MOVE_COLUMNS)
            msg = f"sent in feed {feed_id} (Amazon feed {amazon_feed_id})"
            self._move(conn, [Move(r, S.SUBMITTED, msg, feed_id) for r in rows])
            return [r["id"] for r in rows]

    def _feed_lines(
        self,
        conn: Connection,
        feed_id: int,
        statuses: Iterable[LineStatus] | None = None,
        *,
        columns: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """``columns``: as for _lines_by_id, only these (and id)."""
        cols = [lines.c.id, *(lines.c[c] for c in columns if c != "id")] if columns else [lines]
        q = select(*cols).where(lines.c.feed_id == feed_id).order_by(lines.c.id)
        if statuses is not None:
            q = q.where(lines.c.status.in_([s.value for s in statuses]))
        return [dict(r) for r in conn.execute(self._lock(q)).mappings()]

    def feed_lines(self, feed_id: int) -> list[LineRow]:
        """The lines reserved in or last sent in a feed (to map report results back)."""
        with self.reading() as conn:
            q = select(lines).where(lines.c.feed_id == feed_id).order_by(lines.c.id)
            return [LineRow.from_mapping(r) for r in conn.execute(q).mappings()]

    def submitted_messages(self, feed_id: int) -> list[tuple[int, int | None]]:
        """(line id, MessageID) of the feed's lines still submitted: all the tracker needs
        to map a processing report back, without building 30,000 whole LineRows."""
        q = (
            select(lines.c.id, lines.c.message_id)
            .where(lines.c.feed_id == feed_id, lines.c.status == S.SUBMITTED)
            .order_by(lines.c.id)
        )
        with self.reading() as conn:
            return [(int(i), m) for i, m in conn.execute(q)]

    def feed(self, feed_id: int, *, with_content: bool = False) -> FeedRow:
        with self.reading() as conn:
            cols = [feeds] if with_content else _FEED_META
            r = conn.execute(select(*cols).where(feeds.c.id == feed_id)).first()
        if r is None:
            raise UnknownRecord("feed", [feed_id])
        return FeedRow.from_mapping(r._mapping, with_content=with_content)

    def feeds_to_resume(self, seller: str | None = None) -> list[FeedRow]:
        """Prepared and uploaded feeds, with their exact bytes, oldest first: a look, not
        a claim (another worker may be sending one); the batcher claims each feed first
        (processors.ledger.feedclaims).

        For an uploaded feed, first look on Amazon for a feed made from its
        feed_document_id: createFeed may have succeeded just before a crash.
        """
        q = select(feeds).where(feeds.c.state.in_([F.PREPARED.value, F.UPLOADED.value]))
        if seller is not None:
            q = q.where(feeds.c.seller == seller)
        with self.reading() as conn:
            rs = conn.execute(q.order_by(feeds.c.id)).mappings().all()
        return [FeedRow.from_mapping(r, with_content=True) for r in rs]

    # -- tracking ---------------------------------------------------------------------

    def poll_submitted(self, seller: str | None = None, *, due_only: bool = False) -> list[FeedRow]:
        """Feeds Amazon may still apply (created ones, and any an older shipfeed gave up on
        before Amazon ended them), least recently polled first.

        ``due_only`` keeps only those whose backoff (FeedRow.next_poll_at) has passed.
        """
        from processors.ledger.tracking import MAY_STILL_APPLY

        q = select(*_FEED_META).where(MAY_STILL_APPLY)
        if seller is not None:
            q = q.where(feeds.c.seller == seller)
        q = q.order_by(feeds.c.last_polled_at.asc().nulls_first(), feeds.c.id)
        with self.reading() as conn:
            rows = [FeedRow.from_mapping(r) for r in conn.execute(q).mappings()]
        if due_only:
            now = self.clock()
            rows = [r for r in rows if r.next_poll_at <= now]
        return rows

    def feed_polled(self, feed_id: int, processing_status: str) -> None:
        """Record one getFeed answer that was not final yet (drives the backoff)."""
        from processors.ledger.tracking import record_poll

        with self._writing() as conn:
            n = record_poll(self, conn, feed_id, processing_status)
        if not n:
            raise UnknownRecord("feed", [feed_id])

    def complete_feed(
        self,
        feed_id: int,
        outcomes: Mapping[int, Outcome | tuple[str, str | None, str | None]],
        *,
        others: Outcome | tuple[str, str | None, str | None] | None = None,
        undecided: Collection[int] = (),
        result_document_id: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply Amazon's processing report: each submitted line -> its outcome.

        Amazon's report lists only the messages with errors or warnings, so ``others`` is
        the outcome of every line not in ``outcomes`` (typically confirmed); without it,
        every line must be listed (IncompleteOutcomes otherwise). An outcome is confirmed,
        error, needs_attention, or in_queue (checked on Amazon: not applied, so resent).
        ``undecided`` lines stay submitted and the feed stays created: the next poll
        decides them. An outcome for a line that left the feed while Amazon had it only
        counts as a confirmation (processors.ledger.tracking).
        """
        from processors.ledger.tracking import apply_report

        apply_report(
            self,
            feed_id,
            outcomes,
            others=others,
            undecided=undecided,
            result_document_id=result_document_id,
            summary=summary,
        )

    def fail_feed(self, feed_id: int, reason: str, *, state: str = F.FATAL) -> None:
        """Amazon gave up on the feed (FATAL/CANCELLED), or it was abandoned before creation.

        Its submitted lines go back to the queue with one more attempt, or to
        needs_attention once they have been resent max_resends times. Lines only reserved
        (the feed was never created) are simply freed: they were never sent.
        """
        if state not in (F.FATAL, F.CANCELLED):
            raise LedgerError(f"fail_feed state must be fatal or cancelled, not {state}")
        with self._writing() as conn:
            f = self._feed_for_update(conn, feed_id)
            if f["state"] not in (F.PREPARED, F.UPLOADED, F.CREATED):
                raise FeedStateError(f"feed {feed_id} is already {f['state']}")
            rows = self._feed_lines(conn, feed_id, [S.IN_QUEUE, S.SUBMITTED], columns=MOVE_COLUMNS)
            reserved = [r["id"] for r in rows if r["status"] == S.IN_QUEUE]
            for i in range(0, len(reserved), ID_CHUNK):
                conn.execute(
                    update(lines)
                    .where(lines.c.id.in_(reserved[i : i + ID_CHUNK]))
                    .values(feed_id=None, message_id=None, updated_at=self.clock())
                )
            sent = [r for r in rows if r["status"] == S.SUBMITTED]
            self._move(
                conn,
                [self._requeue(r, f"feed {feed_id} {state}: {reason}", feed_id) for r in sent],
            )
            now = self.clock()
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(
                    state=F(state).value,
                    reason=reason,
                    processing_status=str(state).upper(),
                    finished_at=now,
                    updated_at=now,
                )
            )

    # -- operator actions -------------------------------------------------------------

    def stuck_lines(self, older_than: timedelta, *, seller: str | None = None) -> list[LineRow]:
        """Submitted lines with no news for longer than ``older_than``."""
        q = self._stuck_query(older_than, seller)
        with self.reading() as conn:
            return [LineRow.from_mapping(r) for r in conn.execute(q).mappings()]

    def _stuck_query(self, older_than: timedelta, seller: str | None) -> Select[Any]:
        q = select(lines).where(
            lines.c.status == S.SUBMITTED,
            lines.c.status_changed_at < self.clock() - older_than,
        )
        if seller is not None:
            q = q.where(lines.c.seller == seller)
        return q.order_by(lines.c.id)

    def resend(
        self,
        *,
        order_ids: Iterable[str] = (),
        line_ids: Iterable[int] = (),
        errors: bool = False,
        stuck_older_than: timedelta | None = None,
        seller: str | None = None,
        force: bool = False,
        actor: str | None = None,
    ) -> ResendResult:
        """Put selected lines back in the queue (one more attempt each).

        Selection is the union of: lines of ``order_ids``, ``line_ids``, all lines in error
        (``errors``), and submitted lines stuck longer than ``stuck_older_than``; with
        ``seller``, only that seller's (a line id of another seller is UnknownRecord). Lines
        already resent max_resends times go to needs_attention instead, unless ``force``.
        Unless ``force``, lines that a resend cannot help are skipped with the reason
        (processors.ledger.resendrules): refused by Amazon for their content, or replaced
        by a corrected line for the same order item.
        A submitted line is resent only when forced, stuck or not: its feed is with Amazon,
        which may still apply it (a late report of it is still applied).
        """
        result = ResendResult()
        with self._writing() as conn:
            ids: set[int] = set(line_ids)
            order_list = sorted(set(order_ids))
            for i in range(0, len(order_list), ID_CHUNK):
                q = select(lines.c.id).where(lines.c.order_id.in_(order_list[i : i + ID_CHUNK]))
                if seller is not None:
                    q = q.where(lines.c.seller == seller)
                ids.update(conn.execute(q).scalars())
            if errors:
                q = select(lines.c.id).where(lines.c.status == S.ERROR)
                if seller is not None:
                    q = q.where(lines.c.seller == seller)
                ids.update(conn.execute(q).scalars())
            stuck: set[int] = set()
            if stuck_older_than is not None:
                stuck_q = self._stuck_query(stuck_older_than, seller).with_only_columns(lines.c.id)
                stuck = set(conn.execute(stuck_q).scalars())
                ids |= stuck
            if order_list and not ids:
                raise UnknownRecord("order", order_list)
            moves: list[Move] = []
            rows = self._lines_by_id(conn, ids)
            if seller is not None and (other := [r["id"] for r in rows if r["seller"] != seller]):
                raise UnknownRecord("order line", other)
            blocked = {} if force else resend_blockers(conn, rows)
            for r in rows:
                status, lid = r["status"], r["id"]
                if lid in blocked:
                    result.skipped[lid] = blocked[lid]
                    continue
                if status == S.SUBMITTED and not force:
                    # Stuck or not: Amazon may still apply it, and a resend would then
                    # confirm it twice. Only Amazon ending the feed frees its lines.
                    when = "stuck, but " if lid in stuck else ""
                    result.skipped[lid] = (
                        f"in feed {r['feed_id']}, {when}still with Amazon, which may yet apply "
                        "it; shipfeed polls it until Amazon answers (force resends it anyway, "
                        "at the risk of a second confirmation)"
                    )
                    continue
                if status == S.NEEDS_ATTENTION and r["attempts"] >= self.max_resends and not force:
                    result.skipped[lid] = (
                        f"already resent {r['attempts']} times; use force to send it again"
                    )
                    continue
                if status not in (S.ERROR, S.NEEDS_ATTENTION, S.SUBMITTED):
                    result.skipped[lid] = _NOT_RESENDABLE.get(status, f"it is {status}")
                    continue
                why = "stuck without an answer from Amazon" if lid in stuck else "resend"
                why = f"{why} requested" if why == "resend" else why
                m = self._requeue(r, why, r["feed_id"], force=force, actor=actor)
                moves.append(m)
                (result.requeued if m.to == S.IN_QUEUE else result.needs_attention).append(lid)
            self._move(conn, moves)
        return result

    def cancel(
        self, order_id: str, *, seller: str | None = None, actor: str | None = None
    ) -> list[int]:
        """The seller cancelled the order: its unsent lines -> cancelled (never confirmed).

        Refuses (CannotCancel) if any line is with Amazon or in a feed being sent: a
        confirmation cannot be taken back locally. Returns the cancelled line ids.
        """
        with self._writing() as conn:
            q = select(lines).where(lines.c.order_id == order_id).order_by(lines.c.id)
            if seller is not None:
                q = q.where(lines.c.seller == seller)
            rows = [dict(r) for r in conn.execute(self._lock(q)).mappings()]
            if not rows:
                raise UnknownRecord("order", [order_id])
            for r in rows:
                if r["status"] == S.SUBMITTED or (
                    r["status"] == S.IN_QUEUE and r["feed_id"] is not None
                ):
                    raise CannotCancel(
                        r["id"],
                        order_id,
                        r["status"],
                        S.CANCELLED,
                        f"it is in feed {r['feed_id']}, already on its way to Amazon; wait "
                        "for the result, then cancel the shipment on Amazon if needed",
                    )
            todo = [
                r
                for r in rows
                if r["status"] in (S.IN_QUEUE, S.ERROR, S.NEEDS_ATTENTION, S.CONFLICT)
            ]
            confirmed = [r for r in rows if r["status"] == S.CONFIRMED]
            if not todo and confirmed:
                c = confirmed[0]
                raise CannotCancel(
                    c["id"], order_id, c["status"], S.CANCELLED, "Amazon already has it shipped"
                )
            self._move(
                conn, [Move(r, S.CANCELLED, "cancelled by the seller", actor=actor) for r in todo]
            )
            return [r["id"] for r in todo]

    def mark_confirmed_elsewhere(self, line_ids: Iterable[int], message: str) -> None:
        """Amazon already shows these shipped: confirmed without (or before) our feed."""
        with self._writing() as conn:
            self._mark(conn, line_ids, S.CONFIRMED, message)

    def mark_cancelled_on_amazon(
        self, line_ids: Iterable[int], message: str = "the order is cancelled on Amazon"
    ) -> None:
        with self._writing() as conn:
            self._mark(conn, line_ids, S.CANCELLED, message)

    def mark_error(self, line_ids: Iterable[int], code: str | None, message: str) -> None:
        """Queued lines that cannot be sent (e.g. Amazon does not know the order)."""
        with self._writing() as conn:
            self._mark(conn, line_ids, S.ERROR, message, code=code)

    def _mark(
        self,
        conn: Connection,
        line_ids: Iterable[int],
        to: LineStatus,
        message: str,
        *,
        code: str | None = None,
    ) -> None:
        rows = self._lines_by_id(conn, line_ids)
        for r in rows:
            if r["status"] == S.IN_QUEUE and r["feed_id"] is not None:
                raise IllegalTransition(
                    r["id"],
                    r["order_id"],
                    r["status"],
                    to,
                    f"it is reserved in feed {r['feed_id']}, about to be sent",
                )
        vals: tuple[tuple[str, Any], ...] = (("result_code", code),) if code else ()
        self._move(conn, [Move(r, to, message, r["feed_id"], vals) for r in rows])

    def set_ship_method(self, line_id: int, method: str | None) -> None:
        """Fill in the order's original ship method before the line is sent."""
        with self._writing() as conn:
            self._set_ship_method(conn, line_id, method)

    def _set_ship_method(self, conn: Connection, line_id: int, method: str | None) -> None:
        (r,) = self._lines_by_id(conn, [line_id])
        if r["status"] not in (S.IN_QUEUE, S.ERROR, S.NEEDS_ATTENTION, S.CONFLICT) or (
            r["status"] == S.IN_QUEUE and r["feed_id"] is not None
        ):
            raise LedgerError(
                f"line {line_id} (order {r['order_id']}) is {r['status']}"
                + (f" in feed {r['feed_id']}" if r["feed_id"] else "")
                + "; its ship method can no longer change"
            )
        conn.execute(
            update(lines)
            .where(lines.c.id == line_id)
            .values(ship_method=method, updated_at=self.clock())
        )

    # -- direct path (Orders API confirmShipment, no feed) ----------------------------
    # in_queue -> confirmed / error are already in the status table (statuses.ALLOWED):
    # the direct path needs no new transition, only named steps with their own words.

    def confirm_direct(self, line_ids: Iterable[int], message: str) -> None:
        """confirmShipment accepted these queued lines: confirmed without a feed."""
        with self._writing() as conn:
            self._mark(conn, line_ids, S.CONFIRMED, message)

    def direct_failed(self, line_ids: Iterable[int], code: str | None, message: str) -> None:
        """confirmShipment refused these queued lines: error, resendable as any error."""
        with self._writing() as conn:
            self._mark(conn, line_ids, S.ERROR, message, code=code)

    def amazon_feed_ids(self, seller: str | None = None) -> set[str]:
        """Every Amazon feed id the ledger knows, to tell a lost createFeed's feed apart."""
        q = select(feeds.c.amazon_feed_id).where(feeds.c.amazon_feed_id.is_not(None))
        if seller is not None:
            q = q.where(feeds.c.seller == seller)
        with self.reading() as conn:
            return {str(v) for v in conn.execute(q).scalars()}


_NOT_RESENDABLE = {
    S.IN_QUEUE: "already in the queue",
    S.CONFIRMED: "already confirmed; Amazon rejects a second confirmation",
    S.CANCELLED: "cancelled",
    S.DUPLICATE: "a duplicate of an earlier line; that line is the one to resend",
    S.CONFLICT: (
        "its order line is confirmed with other tracking; to replace that tracking on "
        "Amazon: python run.py correct ORDER"
    ),
}


class Claim:
    """Queued lines held for one batch; prepare_feed and order checks happen inside it."""

    def __init__(self, ledger: Ledger, conn: Connection, seller: str, rows: list[LineRow]):
        self._ledger = ledger
        self._conn = conn
        self.seller = seller
        self.lines = rows

    def __len__(self) -> int:
        return len(self.lines)

    def prepare_feed(self, content: bytes, message_map: Mapping[int, Sequence[int]]) -> int:
        """Store the feed built from (some of) the claimed lines and reserve them."""
        ids = [lid for v in message_map.values() for lid in v]
        return self._ledger._prepare_feed(self._conn, self.seller, ids, content, message_map)

    def mark_confirmed_elsewhere(self, line_ids: Iterable[int], message: str) -> None:
        self._ledger._mark(self._conn, line_ids, S.CONFIRMED, message)

    def supersede(self, pairs: Sequence[tuple[LineRow, LineRow]]) -> None:
        """(earlier, later) claimed lines: the later upload is sent, the earlier one ends
        superseded (processors.supersede decides; processors.ledger.supersede records)."""
        from processors.ledger.supersede import supersede

        supersede(self._ledger, self._conn, pairs)

    def mark_cancelled_on_amazon(
        self, line_ids: Iterable[int], message: str = "the order is cancelled on Amazon"
    ) -> None:
        self._ledger._mark(self._conn, line_ids, S.CANCELLED, message)

    def mark_error(self, line_ids: Iterable[int], code: str | None, message: str) -> None:
        self._ledger._mark(self._conn, line_ids, S.ERROR, message, code=code)

    def set_ship_method(self, line_id: int, method: str | None) -> None:
        self._ledger._set_ship_method(self._conn, line_id, method)

    def confirm_direct(self, line_ids: Iterable[int], message: str) -> None:
        """See Ledger.confirm_direct; inside the claim, so no other worker sends them."""
        self._ledger._mark(self._conn, line_ids, S.CONFIRMED, message)

    def direct_failed(self, line_ids: Iterable[int], code: str | None, message: str) -> None:
        self._ledger._mark(self._conn, line_ids, S.ERROR, message, code=code)
