"""The ledger's operator actions: stuck lines, resend and cancel, each with the reason a
line was skipped.

A part of the Ledger facade (processors.ledger.store). Which lines a resend cannot help
is processors.ledger.resendrules; corrections are processors.ledger.corrections.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select

from processors.ledger.base import LedgerBase
from processors.ledger.errors import CannotCancel, UnknownRecord
from processors.ledger.moves import ID_CHUNK, Move
from processors.ledger.records import LineRow, ResendResult
from processors.ledger.resendrules import resend_blockers
from processors.ledger.schema import lines
from processors.ledger.statuses import LineStatus

S = LineStatus


class OperatorSteps(LedgerBase):
    """What an operator asks of the ledger (run.py, the console, the REST API)."""

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
