"""Line statuses, feed states and the one table of allowed status changes.

Kept apart from the store so that every caller (store, queries, reports, tests) reads the
same rules: a status change that is not in ``ALLOWED`` is a bug or an operator mistake and
must fail loudly instead of quietly rewriting an order's history.
"""

from __future__ import annotations

from enum import StrEnum

from processors.ledger.errors import IllegalTransition


class LineStatus(StrEnum):
    IN_QUEUE = "in_queue"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    ERROR = "error"
    NEEDS_ATTENTION = "needs_attention"
    CANCELLED = "cancelled"
    # Intake outcomes: the line was read and kept (so the result report mirrors the input
    # row for row) but is not sent. A duplicate repeats an order line already queued, sent
    # or confirmed with the same tracking; a conflict re-confirms a confirmed order line
    # with a different tracking number and waits for an operator to send it as a
    # correction (processors.ledger.corrections: conflict -> in_queue -> confirmed).
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    # Decided before sending: a later upload (another file) names the same order item with
    # other shipment details, so it is the correction and this earlier line is not sent.
    # Amazon would apply only the first of two messages for one item and reject the other.
    SUPERSEDED = "superseded"


class FeedState(StrEnum):
    PREPARED = "prepared"  # content stored, nothing sent yet
    UPLOADED = "uploaded"  # feed document created and content uploaded, createFeed not yet
    CREATED = "created"  # Amazon accepted createFeed: its lines are submitted
    DONE = "done"  # processing report applied
    FATAL = "fatal"  # Amazon gave up on the feed; lines went back to the queue
    CANCELLED = "cancelled"  # cancelled on Amazon or abandoned before creation


class FileStatus(StrEnum):
    RECEIVED = "received"  # intake in progress (only visible inside its transaction)
    QUEUED = "queued"  # every line recorded
    DONE = "done"  # result report written


S = LineStatus

#: from status -> statuses it may move to. Entry statuses (in_queue, duplicate, conflict)
#: are set at intake and are not changes, so they have no "from".
ALLOWED: dict[LineStatus, frozenset[LineStatus]] = {
    # confirmed/cancelled from the queue: Amazon already shows the order shipped or
    # cancelled (Orders API lookup before sending); error: it could not be sent;
    # superseded: a later upload for the same order item is sent instead (batcher).
    S.IN_QUEUE: frozenset({S.SUBMITTED, S.CANCELLED, S.CONFIRMED, S.ERROR, S.SUPERSEDED}),
    S.SUBMITTED: frozenset({S.CONFIRMED, S.ERROR, S.IN_QUEUE, S.NEEDS_ATTENTION}),
    # superseded from error / needs_attention: the seller uploaded a corrected line for
    # the same order item; that one is sent (processors.ledger.replaced).
    S.ERROR: frozenset({S.IN_QUEUE, S.NEEDS_ATTENTION, S.CONFIRMED, S.CANCELLED, S.SUPERSEDED}),
    S.NEEDS_ATTENTION: frozenset({S.IN_QUEUE, S.CONFIRMED, S.CANCELLED, S.SUPERSEDED}),
    S.CONFLICT: frozenset({S.IN_QUEUE, S.CANCELLED, S.CONFIRMED}),
    # needs_attention from confirmed: hours later the order mirror still shows the order
    # unshipped on Amazon (processors.ledger.unshipped): the confirmation did not take.
    S.CONFIRMED: frozenset({S.NEEDS_ATTENTION}),
    S.CANCELLED: frozenset(),
    S.DUPLICATE: frozenset(),
    S.SUPERSEDED: frozenset(),
}

#: Statuses after which nothing more happens without an operator: a file whose lines are
#: all in one of these can get its result report.
ENDED: frozenset[LineStatus] = frozenset(
    {
        S.CONFIRMED,
        S.ERROR,
        S.NEEDS_ATTENTION,
        S.CANCELLED,
        S.DUPLICATE,
        S.CONFLICT,
        S.SUPERSEDED,
    }
)

#: An earlier line in one of these blocks a new identical line (it is, or will be, sent).
BLOCKING: frozenset[LineStatus] = frozenset({S.IN_QUEUE, S.SUBMITTED, S.CONFIRMED})


def check_transition(line_id: int, order_id: str, frm: str, to: str, why: str = "") -> None:
    """Raise IllegalTransition unless ``frm -> to`` is in the table."""
    if LineStatus(to) not in ALLOWED[LineStatus(frm)]:
        raise IllegalTransition(line_id, order_id, frm, to, why)
