"""The ledger's feeds: a feed is stored with its exact bytes before anything leaves the
machine, then recorded step by step (document, upload, createFeed) and ended by Amazon's
verdict (report applied, or FATAL/CANCELLED and its lines back in the queue).

A part of the Ledger facade (processors.ledger.store). Applying a processing report line
by line is processors.ledger.tracking; claiming a feed to send it is
processors.ledger.feedclaims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Connection, Integer, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from processors.ledger import idlists
from processors.ledger.base import LedgerBase, as_dicts, inserted_id
from processors.ledger.errors import FeedStateError, LedgerError, LinesNotQueued, UnknownRecord
from processors.ledger.idlists import ids_in
from processors.ledger.moves import ID_CHUNK, MOVE_COLUMNS, Move
from processors.ledger.records import FeedRow, LineRow, Outcome
from processors.ledger.schema import feeds, lines
from processors.ledger.statuses import FeedState, LineStatus

S = LineStatus
F = FeedState
#: A feed's columns but its content: the XML (up to feed.max_bytes) is read only where it
#: is sent. Read with every poll and every step, 30-odd stored feeds of 10 MB each made
#: the tracker read hundreds of MB per pass, and grew the heap by as much.
FEED_META = [c for c in feeds.c if c.name != "content"]


class SubmittedMessage(NamedTuple):
    """A submitted line of a feed and its MessageID in that feed."""

    line_id: int
    message_id: int | None


class FeedSteps(LedgerBase):
    """Feeds from prepared to ended, and the reads that resume or poll them."""

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
        pairs = [(lid, msg) for msg, ids in message_map.items() for lid in ids]
        if idlists.ONE_PARAMETER and not self.is_sqlite:
            # One UPDATE ... FROM two arrays (line ids, their MessageIDs) per chunk: the
            # executemany below is one statement per line, 30,000 of them for a feed.
            for i in range(0, len(pairs), ID_CHUNK):
                lids, msgs = zip(*pairs[i : i + ID_CHUNK], strict=True)
                given = select(
                    func.unnest(bindparam(None, list(lids), type_=ARRAY(BigInteger))).label("id"),
                    func.unnest(bindparam(None, list(msgs), type_=ARRAY(Integer))).label("msg"),
                ).subquery()
                conn.execute(
                    update(lines)
                    .where(lines.c.id == given.c.id)
                    .values(feed_id=feed_id, message_id=given.c.msg, updated_at=now)
                )
            return feed_id
        params = [{"b_id": lid, "b_msg": msg} for lid, msg in pairs]
        stmt = (
            update(lines)
            .where(lines.c.id == bindparam("b_id"))
            .values(feed_id=feed_id, message_id=bindparam("b_msg"), updated_at=now)
        )
        for i in range(0, len(params), ID_CHUNK):
            conn.execute(stmt, params[i : i + ID_CHUNK])
        return feed_id

    def _feed_for_update(self, conn: Connection, feed_id: int) -> dict[str, Any]:
        r = conn.execute(self._lock(select(*FEED_META).where(feeds.c.id == feed_id))).first()
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

    def create_feed_calling(self, feed_id: int, at: datetime) -> None:
        """createFeed is about to be called for this uploaded feed (at ``at``, the wall
        clock Amazon's createdTime is compared with): from now until feed_created, the
        feed may exist on Amazon without the ledger knowing its id."""
        with self._writing() as conn:
            f = self._feed_for_update(conn, feed_id)
            if f["state"] != F.UPLOADED:
                raise FeedStateError(
                    f"feed {feed_id} is {f['state']}; createFeed is called only after upload"
                )
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(create_called_at=at, updated_at=self.clock())
            )

    def unresolved_creates(self, sellers: Collection[str]) -> list[int]:
        """Uploaded feeds of ``sellers`` whose createFeed was called and whose answer is not
        recorded: each may or may not exist on Amazon, until looked up."""
        q = (
            select(feeds.c.id)
            .where(
                feeds.c.state == F.UPLOADED.value,
                feeds.c.create_called_at.is_not(None),
                feeds.c.seller.in_(sorted(sellers)),
            )
            .order_by(feeds.c.id)
        )
        with self.reading() as conn:
            return list(conn.execute(q).scalars())

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
                    create_called_at=None,
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
        return as_dicts(conn.execute(self._lock(q)))

    def feed_lines(self, feed_id: int) -> list[LineRow]:
        """The lines reserved in or last sent in a feed (to map report results back)."""
        with self.reading() as conn:
            q = select(lines).where(lines.c.feed_id == feed_id).order_by(lines.c.id)
            return [LineRow.from_mapping(r) for r in conn.execute(q).mappings()]

    def submitted_messages(self, feed_id: int) -> list[SubmittedMessage]:
        """(line id, MessageID) of the feed's lines still submitted: all the tracker needs
        to map a processing report back, without building 30,000 whole LineRows."""
        q = (
            select(lines.c.id, lines.c.message_id)
            .where(lines.c.feed_id == feed_id, lines.c.status == S.SUBMITTED)
            .order_by(lines.c.id)
        )
        with self.reading() as conn:
            return [SubmittedMessage(int(r.id), r.message_id) for r in conn.execute(q)]

    def feed(self, feed_id: int, *, with_content: bool = False) -> FeedRow:
        with self.reading() as conn:
            cols = [feeds] if with_content else FEED_META
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

    # -- Amazon's verdict ---------------------------------------------------------------------

    def poll_submitted(self, seller: str | None = None, *, due_only: bool = False) -> list[FeedRow]:
        """Feeds Amazon may still apply (created ones, and any an older shipfeed gave up on
        before Amazon ended them), least recently polled first.

        ``due_only`` keeps only those whose backoff (FeedRow.next_poll_at) has passed.
        """
        from processors.ledger.tracking import MAY_STILL_APPLY

        q = select(*FEED_META).where(MAY_STILL_APPLY)
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
                    .where(ids_in(conn, lines.c.id, reserved[i : i + ID_CHUNK]))
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

    def amazon_feed_ids(self, seller: str | None = None) -> set[str]:
        """Every Amazon feed id the ledger knows, to tell a lost createFeed's feed apart."""
        q = select(feeds.c.amazon_feed_id).where(feeds.c.amazon_feed_id.is_not(None))
        if seller is not None:
            q = q.where(feeds.c.seller == seller)
        with self.reading() as conn:
            return {str(v) for v in conn.execute(q).scalars()}
