"""What operators read: status counts, the queue, an order's history, a file's outcome.

Plain dataclasses out, no formatting: the CLI and the report writer render them. Every
function reads in one transaction so the numbers it returns agree with each other.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain, groupby, starmap
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import func, or_, select

from feeds.model import LineError
from processors.ledger.errors import UnknownRecord
from processors.ledger.records import FileRecord, LineRow
from processors.ledger.schema import events, feeds, files, lines, rejected_lines
from processors.ledger.statuses import ENDED, FeedState, FileStatus, LineStatus
from processors.ledger.store import Ledger
from processors.ledger.tracking import STUCK_PREFIX

S = LineStatus
_IN_FLIGHT = [FeedState.PREPARED.value, FeedState.UPLOADED.value, FeedState.CREATED.value]
_OPEN = [s.value for s in LineStatus if s not in ENDED]
#: Ended lines that still wait for a person: listed wherever the queue is shown (the
#: operator's queue and status, each seller's status note), never only counted.
ATTENTION = [S.NEEDS_ATTENTION.value, S.ERROR.value, S.CONFLICT.value]


@dataclass(frozen=True, slots=True)
class LastError:
    line_id: int
    order_id: str
    at: datetime
    status: str
    message: str | None


@dataclass(frozen=True, slots=True)
class StatusCounts:
    counts: dict[str, int]  # every status, zeros included, so tables line up
    total: int
    oldest_waiting: datetime | None  # since when the oldest in_queue line has waited
    feeds_in_flight: int  # prepared, uploaded or created
    #: created feeds past the stuck setting: still with Amazon, polled on, never resent
    feeds_stuck: int
    last_error: LastError | None


def status_counts(ledger: Ledger, seller: str | None = None) -> StatusCounts:
    with ledger.reading() as conn:
        q = select(lines.c.status, func.count()).group_by(lines.c.status)
        oldest = select(func.min(lines.c.status_changed_at)).where(lines.c.status == S.IN_QUEUE)
        fq = select(func.count()).select_from(feeds).where(feeds.c.state.in_(_IN_FLIGHT))
        sq = (
            select(func.count())
            .select_from(feeds)
            .where(feeds.c.state == FeedState.CREATED, feeds.c.reason.like(f"{STUCK_PREFIX}%"))
        )
        eq = (
            select(lines)
            .where(lines.c.status.in_([S.ERROR.value, S.NEEDS_ATTENTION.value]))
            .order_by(lines.c.status_changed_at.desc(), lines.c.id.desc())
            .limit(1)
        )
        if seller is not None:
            q = q.where(lines.c.seller == seller)
            oldest = oldest.where(lines.c.seller == seller)
            fq = fq.where(feeds.c.seller == seller)
            sq = sq.where(feeds.c.seller == seller)
            eq = eq.where(lines.c.seller == seller)
        counts = {s.value: 0 for s in LineStatus}
        counts.update({st: n for st, n in conn.execute(q)})
        last = conn.execute(eq).mappings().first()
        return StatusCounts(
            counts=counts,
            total=sum(counts.values()),
            oldest_waiting=conn.execute(oldest).scalar(),
            feeds_in_flight=conn.execute(fq).scalar_one(),
            feeds_stuck=conn.execute(sq).scalar_one(),
            last_error=None
            if last is None
            else LastError(
                last["id"],
                last["order_id"],
                last["status_changed_at"],
                last["status"],
                last["message"],
            ),
        )


@dataclass(frozen=True, slots=True)
class QueueRow:
    line_id: int
    seller: str
    order_id: str
    order_item_id: str | None
    status: str
    tracking_number: str | None
    carrier: str | None
    ship_date: datetime
    age: timedelta  # time in the current status
    attempts: int
    message: str | None


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueRow]
    total: int  # matching lines, of which ``rows`` shows the first ``limit``


def queue(
    ledger: Ledger,
    status: str | None = None,
    seller: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> QueuePage:
    """Lines in one status (default: every status not yet ended, and those waiting for a
    person: ATTENTION), oldest first."""
    cond: list[Any] = [
        lines.c.status == status if status is not None else lines.c.status.in_(_OPEN + ATTENTION)
    ]
    if seller is not None:
        cond.append(lines.c.seller == seller)
    now = ledger.clock()
    with ledger.reading() as conn:
        total = conn.execute(select(func.count()).select_from(lines).where(*cond)).scalar_one()
        q = (
            select(lines)
            .where(*cond)
            .order_by(lines.c.status_changed_at, lines.c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = [
            QueueRow(
                line_id=r["id"],
                seller=r["seller"],
                order_id=r["order_id"],
                order_item_id=r["order_item_id"],
                status=r["status"],
                tracking_number=r["tracking_number"],
                carrier=r["carrier_code"] or r["carrier_name"],
                ship_date=r["ship_date"],
                age=now - r["status_changed_at"],
                attempts=r["attempts"],
                message=r["message"],
            )
            for r in conn.execute(q).mappings()
        ]
    return QueuePage(rows=rows, total=total)


@dataclass(frozen=True, slots=True)
class EventRow:
    at: datetime
    from_status: str
    to_status: str
    feed_id: int | None
    message: str | None
    actor: str | None = None  # the console account that asked for it, if one did


@dataclass(frozen=True, slots=True)
class LineHistory:
    line: LineRow
    file_name: str
    received_at: datetime  # when its file came in: the start of the story
    events: list[EventRow] = field(default_factory=list)


def order_history(ledger: Ledger, order_id: str) -> list[LineHistory]:
    """Every line ever received for an order, each with its status changes in order."""
    with ledger.reading() as conn:
        q = (
            select(lines, files.c.name.label("file_name"), files.c.received_at)
            .join(files, files.c.id == lines.c.file_id)
            .where(lines.c.order_id == order_id)
            .order_by(lines.c.id)
        )
        found = conn.execute(q).mappings().all()
        if not found:
            raise UnknownRecord("order", [order_id])
        ids = [r["id"] for r in found]
        evq = select(events).where(events.c.line_id.in_(ids)).order_by(events.c.id)
        by_line: dict[int, list[EventRow]] = {}
        for e in conn.execute(evq).mappings():
            by_line.setdefault(e["line_id"], []).append(
                EventRow(
                    e["at"],
                    e["from_status"],
                    e["to_status"],
                    e["feed_id"],
                    e["message"],
                    e["actor"],
                )
            )
    return [
        LineHistory(
            line=LineRow.from_mapping(r),
            file_name=r["file_name"],
            received_at=r["received_at"],
            events=by_line.get(r["id"], []),
        )
        for r in found
    ]


@dataclass(frozen=True, slots=True)
class FileLine:
    """One input line and its outcome: a ledger status, or 'rejected' with the errors."""

    line: int
    outcome: str
    line_id: int | None = None
    order_id: str | None = None
    order_item_id: str | None = None
    tracking_number: str | None = None
    result_code: str | None = None
    message: str | None = None
    errors: list[LineError] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.outcome == "rejected" or LineStatus(self.outcome) in ENDED


def iter_file_lines(
    ledger: Ledger, file_id: int, chunk: int = 5_000
) -> Generator[FileLine, None, None]:
    """The file's lines in input order, streamed (a million-line file is fine).

    A generator holding a read connection: a caller that may stop early closes it
    (contextlib.closing) so the connection is given back at once."""
    ledger.file(file_id)  # UnknownRecord for a wrong id, before the first yield
    with ledger.reading() as conn:
        # Columns in FileLine's field order: each row is a FileLine's arguments as read.
        lq = (
            select(
                lines.c.line_no,
                lines.c.status,
                lines.c.id,
                lines.c.order_id,
                lines.c.order_item_id,
                lines.c.tracking_number,
                lines.c.result_code,
                lines.c.message,
            )
            .where(lines.c.file_id == file_id)
            .order_by(lines.c.line_no, lines.c.id)
        )
        rq = (
            select(
                rejected_lines.c.line_no,
                rejected_lines.c.column_name,
                rejected_lines.c.value,
                rejected_lines.c.reason,
            )
            .where(rejected_lines.c.file_id == file_id)
            .order_by(rejected_lines.c.line_no, rejected_lines.c.id)
        )
        opts = conn.execution_options(yield_per=chunk)
        # Whole partitions, not row by row: per-row fetching, a generator step and the
        # merge's key call per line were most of the time of a 10,000-line API answer.
        accepted = starmap(FileLine, chain.from_iterable(opts.execute(lq).partitions()))
        rejected = (
            FileLine(
                ln,
                "rejected",
                errors=[LineError(ln, c, v, why) for _, c, v, why in group],
            )
            for ln, group in groupby(opts.execute(rq), key=itemgetter(0))
        )
        first = next(rejected, None)
        if first is None:  # nothing rejected: nothing to merge
            yield from accepted
            return
        yield from heapq.merge(accepted, chain((first,), rejected), key=attrgetter("line"))


def file_lines(ledger: Ledger, file_id: int) -> list[FileLine]:
    """Each original line number with its outcome, for the report that mirrors the input."""
    return list(iter_file_lines(ledger, file_id))


def file_done(ledger: Ledger, file_id: int) -> bool:
    """True when every line of the file has ended (nothing in_queue or submitted)."""
    ledger.file(file_id)
    with ledger.reading() as conn:
        q = select(lines.c.id).where(lines.c.file_id == file_id, lines.c.status.in_(_OPEN))
        return conn.execute(q.limit(1)).first() is None


def files_to_report(ledger: Ledger, seller: str | None = None) -> list[FileRecord]:
    """Queued files whose lines have all ended and whose reports are not written yet."""
    open_lines = (
        select(lines.c.id).where(lines.c.file_id == files.c.id, lines.c.status.in_(_OPEN)).exists()
    )
    q = select(files).where(files.c.status == FileStatus.QUEUED, ~open_lines)
    if seller is not None:
        q = q.where(files.c.seller == seller)
    with ledger.reading() as conn:
        return [FileRecord.from_mapping(r) for r in conn.execute(q.order_by(files.c.id)).mappings()]


def files_to_report_again(
    ledger: Ledger, since: datetime | None, seller: str | None = None
) -> list[FileRecord]:
    """Reported files whose result report is out of date: a line of theirs changed status
    after the report was written (a resend, a correction, a late confirmation), or the
    report was marked out of date (``reported_at`` NULL: a confirmed line of theirs got a
    correction note, processors.ledger.corrections).

    Driven from the lines that changed since ``since`` (the (status, status_changed_at)
    index), so a pass costs what changed, not the size of every file ever reported;
    ``since`` None looks at every line (once, at start).
    """
    changed = select(lines.c.file_id, func.max(lines.c.status_changed_at).label("last"))
    if since is not None:
        changed = changed.where(
            lines.c.status.in_([s.value for s in LineStatus]), lines.c.status_changed_at > since
        )
    sub = changed.group_by(lines.c.file_id).subquery()
    stale = (
        select(files.c.id)
        .join(sub, sub.c.file_id == files.c.id)
        .where(files.c.status == FileStatus.DONE, sub.c.last > files.c.reported_at)
    )
    q = select(files).where(
        files.c.status == FileStatus.DONE,
        files.c.result_report.is_not(None),
        or_(files.c.reported_at.is_(None), files.c.id.in_(stale)),
    )
    if seller is not None:
        q = q.where(files.c.seller == seller)
    with ledger.reading() as conn:
        return [FileRecord.from_mapping(r) for r in conn.execute(q.order_by(files.c.id)).mappings()]
