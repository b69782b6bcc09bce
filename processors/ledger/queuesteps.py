"""The ledger's queue: free queued lines of a seller, looked at or claimed for one batch.

A part of the Ledger facade (processors.ledger.store). A Claim holds the lines (row locks
on PostgreSQL, the single writer on SQLite) while the batcher checks their orders and
builds a feed, so the order checks and the feed commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, or_, select

from processors.ledger.correctionmark import is_correction
from processors.ledger.feedsteps import FeedSteps
from processors.ledger.ordersteps import OrderSteps
from processors.ledger.records import LineRow
from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus

S = LineStatus


class QueueSteps(FeedSteps, OrderSteps):
    """The queue, seen from the batcher: a claim ends in a feed or in order verdicts."""

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


class Claim:
    """Queued lines held for one batch; prepare_feed and order checks happen inside it."""

    def __init__(self, ledger: QueueSteps, conn: Connection, seller: str, rows: list[LineRow]):
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
