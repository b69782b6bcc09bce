"""Errors the ledger raises, each saying what an operator can do about it."""

from __future__ import annotations

from collections.abc import Iterable

from feeds.errors import ExitCode, TerminalError, TransientError


class LedgerError(TerminalError):
    """The ledger refused an operation as asked; its data is unchanged."""


class LedgerUnavailable(TransientError):
    """The database could not be reached or is locked; trying later can help."""


class AccountBusy(TransientError):
    """Another worker held a selling-partner account's feed lock (accountlock.py) longer
    than the wait allows; the feed waits for a later batch."""


class IllegalTransition(LedgerError):
    """A status change that the status table does not allow."""

    def __init__(self, line_id: int, order_id: str, frm: str, to: str, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(
            f"line {line_id} (order {order_id}) cannot go from {frm} to {to}{detail}",
            hint=f"`python run.py order {order_id}` shows what happened to it",
        )
        self.line_id = line_id
        self.order_id = order_id
        self.from_status = frm
        self.to_status = to


class CannotCancel(IllegalTransition):
    """A line that Amazon has, or is about to have, cannot be cancelled locally."""

    exit_code = ExitCode.REQUEST_REFUSED


class UnknownRecord(LedgerError):
    """An id or order number that the ledger does not hold.

    Usually a typo or the wrong ledger (another --data-dir or --settings), so the hint
    names a command that lists what this ledger does hold.
    """

    exit_code = ExitCode.REQUEST_REFUSED

    def __init__(self, kind: str, ids: Iterable[object]) -> None:
        shown = ", ".join(str(i) for i in list(ids)[:20])
        super().__init__(f"no such {kind}: {shown}", hint=_LIST_HINT)


_LIST_HINT = (
    "`python run.py queue` lists the orders still waiting and `python run.py queue --status "
    "confirmed` the confirmed ones; check that --data-dir and --settings name the right ledger"
)


class FeedStateError(LedgerError):
    """A feed step recorded out of order (e.g. created before it was uploaded)."""


class LinesNotQueued(LedgerError):
    """Lines given to prepare_feed are no longer free in the queue (another worker took them,
    or an operator changed them); the caller should claim again and rebuild the feed."""


class IncompleteOutcomes(LedgerError):
    """complete_feed was not told the outcome of every line in the feed."""


class UnaccountedLines(LedgerError):
    """An input file's line count does not match what was recorded, so a line would be lost."""
