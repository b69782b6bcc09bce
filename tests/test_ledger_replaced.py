"""supersede_replaced finds the failed lines it finds by two lookups exactly as the one
self-join of ``lines`` it replaced did (kept here as the reference): which failed lines,
and which new line replaces each, over items, repeats, other sellers and statuses."""

from __future__ import annotations

from typing import Any

from ledger_db import order, sent_feed, ship, take_in
from sqlalchemy import and_, select

from processors.ledger.records import Outcome
from processors.ledger.replaced import supersede_replaced
from processors.ledger.schema import files, lines
from processors.ledger.store import Ledger

ITEM_A, ITEM_B = "12345678901234", "99999999999999"


def by_self_join(ledger: Ledger, file_id: int) -> dict[int, tuple[int, int, str]]:
    """The former query: failed line id -> (new line id, its line number, its file)."""
    new = lines.alias("new_line")
    q = (
        select(lines.c.id, lines.c.order_item_id, new.c.id, new.c.line_no, new.c.order_item_id)
        .add_columns(files.c.name)
        .join(
            new,
            and_(
                new.c.order_id == lines.c.order_id,
                new.c.seller == lines.c.seller,
                new.c.id > lines.c.id,
            ),
        )
        .join(files, files.c.id == new.c.file_id)
        .where(
            lines.c.status.in_(["error", "needs_attention"]),
            new.c.file_id == file_id,
            new.c.status == "in_queue",
        )
        .order_by(lines.c.id, new.c.id)
    )
    found: dict[int, tuple[int, int, str]] = {}
    with ledger.reading() as conn:
        for old_id, old_item, new_id, new_no, new_item, name in conn.execute(q):
            if old_item == new_item and old_id not in found:
                found[old_id] = (new_id, new_no, name)
    return found


def failed(ledger: Ledger, seller: str, shipments: list[Any], name: str) -> list[int]:
    take_in(ledger, shipments, name=name, seller=seller)
    feed_id, ids = sent_feed(ledger, seller)
    ledger.complete_feed(feed_id, {}, others=Outcome("error", "25", "bad"))
    return ids


def test_two_lookups_find_what_the_self_join_found(ledger: Ledger) -> None:
    mine = failed(
        ledger,
        "acme",
        [
            ship(2, order(1), item=ITEM_A),
            ship(3, order(1), item=ITEM_B),
            ship(4, order(2)),  # no item
            ship(5, order(3), item=ITEM_A),  # not in the new file
            ship(6, order(4), item=ITEM_A),  # only another item in the new file
        ],
        "first.csv",
    )
    theirs = failed(ledger, "other", [ship(2, order(1), item=ITEM_A)], "theirs.csv")
    rec = take_in(
        ledger,
        [
            ship(2, order(1), item=ITEM_A, tracking="1Z999AA10123456785"),
            ship(3, order(1), item=ITEM_A, tracking="1Z999AA10123456786"),  # a second one
            ship(4, order(2), tracking="1Z999AA10123456785"),
            ship(5, order(4), item=ITEM_B),
            ship(6, order(9), item=ITEM_A),
        ],
        name="fixed.csv",
    )
    expected = by_self_join(ledger, rec.id)
    assert sorted(expected) == [mine[0], mine[2]]  # the reference found something real
    got = supersede_replaced(ledger, rec.id)
    assert sorted(got) == sorted(expected)
    for old_id, (_, line_no, name) in expected.items():
        (row,) = ledger.lines([old_id])
        assert row.status == "superseded"
        assert f"superseded by the corrected line {line_no} of {name} " in (row.message or "")
    untouched = [mine[1], mine[3], mine[4], *theirs]
    assert {r.status for r in ledger.lines(untouched)} == {"error"}
    assert supersede_replaced(ledger, rec.id) == []  # run again: nothing left to do
