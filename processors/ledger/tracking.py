"""What the tracker records: Amazon's answers about created feeds, line by line.

Kept apart from the store because these steps hold the exactly-once rules for a feed
that Amazon may still apply, and the store was already the size of three modules:

* a feed that Amazon has not finished is never given up locally: past the stuck setting it
  is only flagged (``reason`` of a created feed, shown by ``status``) and polled on;
* a report is applied line by line; a line the tracker cannot decide yet (the Orders API
  could not be asked) stays submitted and the feed stays created, so the next poll reads
  the report again for it;
* a line that has left the feed (forced resend, or a feed an older shipfeed gave up on)
  still takes a confirmation from the feed's report: Amazon applied it.

A feed given up on by an older shipfeed (state cancelled, reason ``stuck: ...``) is still
polled until Amazon ends it (see ``GIVEN_UP``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, or_, select, update

from processors.ledger.errors import FeedStateError, IncompleteOutcomes, LedgerError
from processors.ledger.moves import MOVE_COLUMNS, Move
from processors.ledger.records import Outcome
from processors.ledger.schema import events, feeds, lines
from processors.ledger.statuses import FeedState, LineStatus

if TYPE_CHECKING:
    from processors.ledger.feedsteps import FeedSteps

S = LineStatus
F = FeedState

#: How an older shipfeed marked a feed it gave up on while Amazon was still processing it.
#: Such a feed is polled until Amazon ends it; then the prefix is rewritten.
GIVEN_UP_PREFIX = "stuck:"
#: A created feed with this reason is past the stuck setting: flagged, still polled.
STUCK_PREFIX = "still with Amazon"

#: Feeds whose lines Amazon may still apply: created ones, and those given up on by an
#: older shipfeed without Amazon's word (their late report must still be read).
GIVEN_UP = and_(
    feeds.c.state.in_([F.CANCELLED.value, F.FATAL.value]),
    feeds.c.reason.like(f"{GIVEN_UP_PREFIX}%"),
    feeds.c.amazon_feed_id.is_not(None),
    feeds.c.result_document_id.is_(None),
)
MAY_STILL_APPLY = or_(feeds.c.state == F.CREATED.value, GIVEN_UP)

#: The outcomes a report (or a check of the order on Amazon) can give a line.
_OUTCOME_STATUSES = (S.CONFIRMED, S.ERROR, S.IN_QUEUE, S.NEEDS_ATTENTION)


def may_still_apply(feed: Mapping[str, Any]) -> bool:
    """Whether Amazon may still apply this feed's messages (it has not ended it)."""
    if feed["state"] == F.CREATED:
        return True
    return (
        feed["state"] in (F.CANCELLED, F.FATAL)
        and (feed["reason"] or "").startswith(GIVEN_UP_PREFIX)
        and feed["amazon_feed_id"] is not None
        and feed["result_document_id"] is None
    )


def moved_lines(ledger: FeedSteps, feed_id: int) -> list[tuple[int, str, str | None, str]]:
    """(line id, order id, item id, status) of lines sent in this feed that are no longer
    submitted in it: requeued while Amazon still had the feed, or sent to needs_attention
    when it was given up (such a line keeps its feed). Read from the order history,
    because a requeued line forgets its feed."""
    sent = (
        select(events.c.line_id)
        .where(events.c.feed_id == feed_id, events.c.to_status == S.SUBMITTED.value)
        .distinct()
    )
    q = (
        select(lines.c.id, lines.c.order_id, lines.c.order_item_id, lines.c.status)
        .where(
            lines.c.id.in_(sent),
            or_(
                lines.c.feed_id.is_(None),
                lines.c.feed_id != feed_id,
                lines.c.status != S.SUBMITTED.value,
            ),
        )
        .order_by(lines.c.id)
    )
    with ledger.reading() as conn:
        return [(int(i), o, it, st) for i, o, it, st in conn.execute(q)]


def messages_covered(ledger: FeedSteps, feed_id: int) -> int:
    """How many of the feed's messages still have a line pointing at them: fewer than the
    feed's messages means lines left it while Amazon had it (see moved_lines)."""
    q = select(func.count(lines.c.message_id.distinct())).where(lines.c.feed_id == feed_id)
    with ledger.reading() as conn:
        return int(conn.execute(q).scalar_one())


@dataclass(frozen=True, slots=True)
class ReportLine:
    """A line still submitted in a feed, as the tracker maps the feed's report to it."""

    id: int
    message_id: int | None
    order_id: str
    order_item_id: str | None
    corrects: int | None  # the earlier line this one replaced as a correction (superseded)


def report_lines(ledger: FeedSteps, feed_id: int) -> list[ReportLine]:
    """The feed's lines still submitted, in line order."""
    q = (
        select(
            lines.c.id,
            lines.c.message_id,
            lines.c.order_id,
            lines.c.order_item_id,
            lines.c.duplicate_of,
        )
        .where(lines.c.feed_id == feed_id, lines.c.status == S.SUBMITTED)
        .order_by(lines.c.id)
    )
    with ledger.reading() as conn:
        return [ReportLine(int(i), m, o, it, d) for i, m, o, it, d in conn.execute(q)]


def flag_stuck(ledger: FeedSteps, feed_id: int, processing_status: str, reason: str) -> None:
    """A poll found the feed still with Amazon past the stuck setting: flag it, keep it.

    Its lines stay submitted (Amazon may still apply them) and the feed is polled on."""
    with ledger._writing() as conn:
        f = ledger._feed_for_update(conn, feed_id)
        if f["state"] != F.CREATED:
            raise FeedStateError(f"feed {feed_id} is {f['state']}; only a created one is stuck")
        record_poll(ledger, conn, feed_id, processing_status, reason=reason)


def record_poll(
    ledger: FeedSteps, conn: Connection, feed_id: int, processing_status: str, **extra: Any
) -> int:
    """Record one getFeed answer (drives the poll backoff) inside the caller's transaction.

    Returns how many feeds it touched, so a caller can tell an unknown feed id (0)."""
    now = ledger.clock()
    return int(
        conn.execute(
            update(feeds)
            .where(feeds.c.id == feed_id)
            .values(
                last_polled_at=now,
                poll_count=feeds.c.poll_count + 1,
                processing_status=processing_status,
                updated_at=now,
                **extra,
            )
        ).rowcount
    )


def close_given_up(ledger: FeedSteps, feed_id: int, processing_status: str) -> None:
    """Amazon ended a feed an older shipfeed had given up on, without applying it
    (FATAL/CANCELLED): nothing more to wait for; its lines were requeued back then."""
    with ledger._writing() as conn:
        f = ledger._feed_for_update(conn, feed_id)
        if f["state"] == F.CREATED or not may_still_apply(f):
            raise FeedStateError(f"feed {feed_id} is {f['state']}, not one given up on")
        reason = str(f["reason"])[len(GIVEN_UP_PREFIX) :].strip()
        now = ledger.clock()
        conn.execute(
            update(feeds)
            .where(feeds.c.id == feed_id)
            .values(
                reason=f"given up as stuck ({reason}); Amazon ended it {processing_status}",
                processing_status=processing_status,
                updated_at=now,
            )
        )


def apply_report(
    ledger: FeedSteps,
    feed_id: int,
    outcomes: Mapping[int, Outcome | tuple[str, str | None, str | None]],
    *,
    others: Outcome | tuple[str, str | None, str | None] | None = None,
    undecided: Collection[int] = (),
    result_document_id: str | None = None,
    summary: Mapping[str, Any] | None = None,
) -> None:
    """Apply Amazon's processing report to the feed's lines; see Ledger.complete_feed."""
    with ledger._writing() as conn:
        f = ledger._feed_for_update(conn, feed_id)
        if not may_still_apply(f):
            raise FeedStateError(
                f"feed {feed_id} is {f['state']}; only a feed Amazon may still apply takes a report"
            )
        created = f["state"] == F.CREATED
        rows = ledger._feed_lines(conn, feed_id, [S.SUBMITTED], columns=MOVE_COLUMNS)
        given = {k: Outcome(*v) for k, v in outcomes.items()}
        other = Outcome(*others) if others else None
        for o in [*given.values(), *([other] if other else [])]:
            if S(o.status) not in _OUTCOME_STATUSES:
                raise LedgerError(
                    "feed outcome must be confirmed, error, in_queue or needs_attention, "
                    f"not {o.status}"
                )
        waiting = set(undecided)
        missing = [r["id"] for r in rows if r["id"] not in given and r["id"] not in waiting]
        if missing and other is None:
            raise IncompleteOutcomes(
                f"feed {feed_id}: no outcome given for {len(missing)} lines "
                f"(e.g. line {missing[0]}); nothing was recorded",
                hint="pass others= for the lines the processing report does not list",
            )
        moves: list[Move] = []
        here = {r["id"] for r in rows}
        left = 0
        for r in rows:
            if r["id"] in waiting and r["id"] not in given:
                left += 1
                continue
            chosen = given.get(r["id"]) or other
            assert chosen is not None
            moves.append(_line_move(ledger, r, chosen, feed_id))
        moves += _late(ledger, conn, feed_id, {k: o for k, o in given.items() if k not in here})
        ledger._move(conn, moves)
        now = ledger.clock()
        if left and created:
            record_poll(
                ledger,
                conn,
                feed_id,
                "DONE",
                reason=f"report read; {left} lines wait for a check of their orders on Amazon",
                result_document_id=result_document_id,
            )
            return
        conn.execute(
            update(feeds)
            .where(feeds.c.id == feed_id)
            .values(
                state=F.DONE.value,
                result_document_id=result_document_id,
                summary=dict(summary) if summary is not None else None,
                processing_status="DONE",
                reason=None if created else f"report applied late ({f['reason']})",
                finished_at=now,
                updated_at=now,
            )
        )


def _line_move(ledger: FeedSteps, r: Mapping[str, Any], o: Outcome, feed_id: int) -> Move:
    to = S(o.status)
    if to == S.IN_QUEUE:
        # Amazon did not apply it (checked on Amazon): a resend, counted as one.
        return ledger._requeue(r, o.message or "not applied by Amazon", feed_id)
    return Move(r, to, o.message, feed_id, (("result_code", o.code),))


def _late(
    ledger: FeedSteps, conn: Connection, feed_id: int, given: Mapping[int, Outcome]
) -> list[Move]:
    """Confirmations for lines that left the feed while Amazon still had it: Amazon applied
    them, so they are confirmed wherever they are now, unless they are in a feed being
    sent right now (prepared/uploaded: that feed's report, or its check, will say)."""
    late = [k for k, o in given.items() if o.status == S.CONFIRMED]
    moves: list[Move] = []
    if not late:
        return moves
    for r in ledger._lines_by_id(conn, late):
        reserved = r["status"] == S.IN_QUEUE and r["feed_id"] is not None
        if r["status"] in (S.IN_QUEUE, S.SUBMITTED, S.ERROR, S.NEEDS_ATTENTION) and not reserved:
            o = given[r["id"]]
            msg = f"confirmed by Amazon in feed {feed_id}, which it applied late"
            vals = (("result_code", o.code), ("feed_id", feed_id))
            moves.append(Move(r, S.CONFIRMED, msg, feed_id, vals))
    return moves
