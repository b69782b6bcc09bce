"""The ledger's order checks: what Amazon's orders say about queued lines before they
are sent (already shipped, cancelled, unknown, the original ship method), and the direct
path's verdicts (confirmShipment, no feed).

A part of the Ledger facade (processors.ledger.store). Each step also runs inside a
batcher's Claim (processors.ledger.queuesteps), in the claim's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, update

from processors.ledger.base import LedgerBase
from processors.ledger.errors import IllegalTransition, LedgerError
from processors.ledger.moves import Move
from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus

S = LineStatus


class OrderSteps(LedgerBase):
    """Lines decided by Amazon's order facts rather than by a feed."""

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
