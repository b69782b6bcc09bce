"""What the ledger counts as a correction: a line pointing at a CONFIRMED line only."""

from __future__ import annotations

from ledger_db import order, ship, take_in
from sqlalchemy import update

from processors.ledger.corrections import claim_corrections, request_correction
from processors.ledger.queries import file_lines
from processors.ledger.schema import lines
from processors.ledger.store import Ledger


def point_at(ledger: Ledger, line_id: int, earlier: int) -> None:
    """As a later upload that superseded a queued line records it (duplicate_of)."""
    with ledger.engine.begin() as conn:
        conn.execute(update(lines).where(lines.c.id == line_id).values(duplicate_of=earlier))


def test_queued_line_pointing_at_an_unconfirmed_line_still_goes_in_a_feed(
    ledger: Ledger,
) -> None:
    first = take_in(ledger, [ship(2, order(1), tracking="1ZAAA")], name="a.csv")
    later = take_in(ledger, [ship(2, order(2), tracking="1ZBBB")], name="b.csv")
    a, b = (file_lines(ledger, f.id)[0].line_id or 0 for f in (first, later))
    point_at(ledger, b, a)
    assert sorted(ln.id for ln in ledger.queued_lines("acme", 10)) == [a, b]
    with claim_corrections(ledger, "acme") as claim:
        assert claim.corrections == []


def test_conflict_queued_as_a_correction_is_held_for_confirm_shipment(ledger: Ledger) -> None:
    first = take_in(ledger, [ship(2, tracking="1ZAAA")], name="a.csv")
    ledger.mark_confirmed_elsewhere([file_lines(ledger, first.id)[0].line_id or 0], "shipped")
    rec = take_in(ledger, [ship(2, tracking="1ZBBB")], name="b.csv")
    (queued,) = request_correction(ledger, line_id=file_lines(ledger, rec.id)[0].line_id or 0)
    assert ledger.queued_lines("acme", 10) == []
    with claim_corrections(ledger, "acme") as claim:
        assert [[ln.id for ln in c.lines] for c in claim.corrections] == [[queued.id]]
