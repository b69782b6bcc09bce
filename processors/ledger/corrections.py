"""Corrections: a confirmed package's tracking replaced by what the seller sent later.

A seller who confirmed an order with a mistyped tracking number uploads the line again
with the right one. Intake keeps that line as ``conflict`` (``duplicate_of``: the
confirmed line), because sending it as a new shipment would ship the units twice and
Amazon refuses that (18021). Amazon's way to change a confirmed shipment is
confirmShipment again under the SAME packageReferenceId: it edits that package (carrier,
tracking, items) instead of adding one. So a correction is:

    conflict --request_correction--> in_queue --sent by confirmShipment--> confirmed
                                               (refused: --> error, resendable)

A correction line is an in_queue line with ``duplicate_of`` set; the batcher's ordinary
claims leave such lines alone (they must never go into a feed), and ``claim_corrections``
hands them to processors.corrections with the original package they replace. The
confirmed original keeps its status (confirmed is terminal) and gets a note saying it was
corrected and by which line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from feeds.errors import ExitCode
from processors.ledger.correctionmark import is_correction
from processors.ledger.errors import LedgerError, UnknownRecord
from processors.ledger.moves import Move
from processors.ledger.records import LineRow
from processors.ledger.schema import files, lines
from processors.ledger.statuses import FileStatus, LineStatus
from processors.ledger.store import Ledger

S = LineStatus


class NothingToCorrect(LedgerError):
    """The order or line named has no line waiting to be sent as a correction.

    A refused request like an unknown order, not a failed step: the ledger is fine.
    """

    exit_code = ExitCode.REQUEST_REFUSED


@dataclass(frozen=True, slots=True)
class Correction:
    """Lines that replace one confirmed package's details, with that package's lines."""

    lines: tuple[LineRow, ...]  # the correction lines (in_queue, duplicate_of set)
    package: tuple[LineRow, ...]  # the confirmed lines of the package they replace

    @property
    def reference(self) -> str:
        """The packageReferenceId the package was confirmed under: the smallest ledger id
        of its lines (processors.batcher.package_reference_id)."""
        return str(min(ln.id for ln in self.package))

    @property
    def by_feed(self) -> bool:
        """The package was confirmed through a feed, not confirmShipment: Amazon gave it a
        reference of its own that shipfeed never learnt."""
        return any(ln.feed_id is not None for ln in self.package)


def _package_key(r: Any) -> tuple[Any, ...]:
    """What makes confirmed lines one package (feeds.model.Shipment.package_key), plus the
    feed they went in: lines of two feeds were two packages."""
    return (r["order_id"], r["tracking_number"], r["carrier_code"], r["carrier_name"], r["feed_id"])


def request_correction(
    ledger: Ledger,
    *,
    order_id: str | None = None,
    line_id: int | None = None,
    seller: str | None = None,
    actor: str | None = None,
) -> list[LineRow]:
    """An operator's word: send these conflict lines as corrections of the confirmed
    package they conflict with. Also takes a correction Amazon refused (error with
    ``duplicate_of``), to try it again. Returns the lines now queued as corrections."""
    if (order_id is None) == (line_id is None):
        raise ValueError("name exactly one of order_id, line_id")
    with ledger._writing() as conn:
        q = select(lines).order_by(lines.c.id)
        q = q.where(lines.c.id == line_id) if line_id is not None else q
        q = q.where(lines.c.order_id == order_id) if order_id is not None else q
        q = q.where(lines.c.seller == seller) if seller is not None else q
        rows = [dict(r) for r in conn.execute(ledger._lock(q)).mappings()]
        if not rows:
            raise UnknownRecord(
                "order line" if line_id is not None else "order", [line_id or order_id]
            )
        candidates = [r for r in rows if _correctable(r)]
        originals = {
            r["id"]: r for r in ledger._lines_by_id(conn, {r["duplicate_of"] for r in candidates})
        }
        # A line may point at one it superseded (processors.ledger.supersede): only one
        # pointing at a confirmed line corrects a shipment Amazon has.
        todo = [r for r in candidates if originals[r["duplicate_of"]]["status"] == S.CONFIRMED]
        if not todo:
            shown = ", ".join(f"line {r['id']} is {r['status']}" for r in rows[:10])
            raise NothingToCorrect(
                f"nothing to correct for {_what(order_id, line_id)}: {shown}",
                hint="a correction is a line uploaded again with other tracking after its "
                "order was confirmed (status conflict); see `python run.py queue --status "
                "conflict`",
            )
        moves = []
        for r in todo:
            o = originals[r["duplicate_of"]]
            msg = (
                f"correction requested by an operator: tracking {r['tracking_number'] or '-'} "
                f"replaces {o['tracking_number'] or '-'} of line {o['id']}; sent with "
                "confirmShipment in the next batch"
            )
            values = (("feed_id", None), ("message_id", None), ("result_code", None))
            moves.append(Move(r, S.IN_QUEUE, msg, None, values, actor))
        ledger._move(conn, moves)
        ids = [r["id"] for r in todo]
    return ledger.lines(ids)


def _correctable(r: dict[str, Any]) -> bool:
    return r["duplicate_of"] is not None and r["status"] in (S.CONFLICT, S.ERROR)


def _what(order_id: str | None, line_id: int | None) -> str:
    return f"line {line_id}" if line_id is not None else f"order {order_id}"


class CorrectionClaim:
    """Correction lines held (row-locked) while they are sent; record each outcome here."""

    def __init__(self, ledger: Ledger, conn: Connection, corrections: list[Correction]):
        self._ledger = ledger
        self._conn = conn
        self.corrections = corrections

    def corrected(self, c: Correction, how: str) -> None:
        """Amazon took the correction: its lines confirmed, the package's lines noted."""
        new = c.lines[0].tracking_number or "-"
        old = c.package[0].tracking_number or "-"
        msg = f"corrected on Amazon: {how}; tracking {new} replaces {old}"
        rows = self._ledger._lines_by_id(self._conn, [ln.id for ln in c.lines])
        self._ledger._move(self._conn, [Move(r, S.CONFIRMED, msg) for r in rows])
        first = c.lines[0]
        with_file = self._conn.execute(
            select(files.c.name).where(files.c.id == first.file_id)
        ).scalar_one()
        note = (
            f"corrected: tracking {old} was replaced by {new} (line {first.line} of "
            f"{with_file}, package {c.reference})"
        )
        self._conn.execute(
            update(lines)
            .where(lines.c.id.in_([ln.id for ln in c.package]))
            .values(message=note, updated_at=self._ledger.clock())
        )
        # The original's file was reported with the old tracking: its report is out of
        # date (processors.ledger.queries.files_to_report_again).
        conn_files = {ln.file_id for ln in c.package}
        self._conn.execute(
            update(files)
            .where(files.c.id.in_(conn_files), files.c.status == FileStatus.DONE)
            .values(reported_at=None)
        )

    def refused(self, c: Correction, code: str | None, message: str) -> None:
        """Amazon refused the correction: its lines -> error, resendable by an operator."""
        rows = self._ledger._lines_by_id(self._conn, [ln.id for ln in c.lines])
        vals = (("result_code", code),) if code else ()
        self._ledger._move(self._conn, [Move(r, S.ERROR, message, None, vals) for r in rows])


def pending_corrections_query(seller: str) -> Any:
    return (
        select(lines)
        .where(
            lines.c.seller == seller,
            lines.c.status == S.IN_QUEUE,
            lines.c.feed_id.is_(None),
            lines.c.duplicate_of.is_not(None),
            is_correction(),
        )
        .order_by(lines.c.id)
    )


@contextmanager
def claim_corrections(ledger: Ledger, seller: str, limit: int = 100) -> Iterator[CorrectionClaim]:
    """Hold a seller's queued corrections, each with the package it replaces.

    As Ledger.claim_queued: row locks (SKIP LOCKED) on PostgreSQL, the single writer on
    SQLite; the outcome is recorded inside the block, in the same transaction.
    """
    with ledger._writing() as conn:
        q = pending_corrections_query(seller).limit(limit)
        if not ledger.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        rows = [dict(r) for r in conn.execute(q).mappings()]
        yield CorrectionClaim(ledger, conn, _group(ledger, conn, rows))


def _group(ledger: Ledger, conn: Connection, rows: list[dict[str, Any]]) -> list[Correction]:
    """Correction lines by the package they replace and the tracking they bring."""
    if not rows:
        return []
    originals = {
        r["id"]: r for r in ledger._lines_by_id(conn, {r["duplicate_of"] for r in rows}, lock=False)
    }
    orders = sorted({r["order_id"] for r in rows})
    confirmed = [
        dict(r)
        for r in conn.execute(
            select(lines).where(
                lines.c.order_id.in_(orders),
                lines.c.status == S.CONFIRMED,
                lines.c.duplicate_of.is_(None),
            )
        ).mappings()
    ]
    groups: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for r in rows:
        o = originals[r["duplicate_of"]]
        key = _package_key(o)
        package = [
            c for c in confirmed if c["seller"] == o["seller"] and _package_key(c) == key
        ] or [o]
        new = (r["tracking_number"], r["carrier_code"], r["carrier_name"])
        g = groups.setdefault((*key, *new), ([], package))
        g[0].append(r)
    return [
        Correction(
            tuple(LineRow.from_mapping(r) for r in new_lines),
            tuple(LineRow.from_mapping(p) for p in sorted(package, key=lambda p: p["id"])),
        )
        for new_lines, package in groups.values()
    ]


def originals_of(ledger: Ledger, line_ids: Iterable[int]) -> list[LineRow]:
    """The confirmed lines these correction lines replace (for the operator's view)."""
    with ledger.reading() as conn:
        ids = {r["duplicate_of"] for r in ledger._lines_by_id(conn, line_ids, lock=False)}
        return [LineRow.from_mapping(r) for r in ledger._lines_by_id(conn, ids, lock=False)]
