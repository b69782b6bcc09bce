"""The overview's running totals (processors/ledger/tally.py) always agree with a count
of the lines and events, through intake, sending, Amazon's answer, resend and cancel,
after folding, and after the migration that creates them on an existing ledger."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from alembic import command
from ledger_db import sent_feed, ship, take_in
from sqlalchemy import func, select

from processors.ledger import tally
from processors.ledger.migrate import alembic_config
from processors.ledger.moves import Move, apply_moves
from processors.ledger.schema import events, line_counts, lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger


def recount(ledger: Ledger) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with ledger.reading() as conn:
        q = select(lines.c.seller, lines.c.status, func.count()).group_by(
            lines.c.seller, lines.c.status
        )
        for s, st, n in conn.execute(q):
            out[s][st] = n
    return dict(out)


def reached_today(ledger: Ledger, status: str) -> int:
    with ledger.reading() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(events).where(events.c.to_status == status)
            ).scalar_one()
        )


def totals(ledger: Ledger) -> dict[str, dict[str, int]]:
    with ledger.reading() as conn:
        return tally.current(conn)


def a_day_of_work(ledger: Ledger) -> None:
    """Lines of two sellers taken in (a duplicate among them), sent, answered, resent,
    cancelled: every kind of status change the overview counts."""
    take_in(ledger, [ship(i, f"111-{i:07d}-0000001") for i in range(1, 61)], seller="acme")
    take_in(ledger, [ship(1, "111-0000001-0000001")], name="again.csv", seller="acme")
    take_in(ledger, [ship(1, "222-0000001-0000001")], seller="globex")
    feed, ids = sent_feed(ledger, "acme")
    bad = {i: ("error", "25", "bad tracking") for i in ids[:5]}
    ledger.complete_feed(feed, bad, others=("confirmed", None, None))
    ledger.resend(line_ids=ids[:2])
    take_in(ledger, [ship(1, "111-0000099-0000001")], name="late.csv", seller="acme")
    ledger.cancel("111-0000099-0000001")


def test_totals_agree_with_a_count_of_the_lines_after_a_day_of_work(ledger: Ledger) -> None:
    a_day_of_work(ledger)
    assert totals(ledger) == recount(ledger)
    assert totals(ledger)["acme"]["duplicate"] == 1


def test_a_move_not_naming_its_lines_seller_is_counted_from_the_line(ledger: Ledger) -> None:
    take_in(ledger, [ship(1, "111-0000001-0000001")], seller="globex")
    with ledger._writing() as conn:
        q = select(lines.c.id, lines.c.order_id, lines.c.status)
        row = dict(conn.execute(q).mappings().one())
        apply_moves(conn, [Move(row, LineStatus.CANCELLED, "cancelled")], ledger.clock())
    assert totals(ledger) == recount(ledger) == {"globex": {"cancelled": 1}}


def test_lines_reached_per_day_agree_with_the_events(ledger: Ledger) -> None:
    a_day_of_work(ledger)
    today = ledger.clock().date()
    with ledger.reading() as conn:
        reached = tally.reached(conn, date(2000, 1, 1), ["confirmed", "error", "in_queue"])
    for status in ("confirmed", "error", "in_queue"):
        assert reached[("acme", status, today)] == reached_today(ledger, status)


def test_folding_keeps_the_totals_in_fewer_rows(ledger: Ledger) -> None:
    a_day_of_work(ledger)
    before = totals(ledger)
    with ledger._writing() as conn:
        tally.fold(conn)
    with ledger.reading() as conn:
        rows = conn.execute(select(func.count()).select_from(line_counts)).scalar_one()
    assert totals(ledger) == before
    assert rows == sum(len(by_status) for by_status in before.values())


def test_the_migration_counts_the_lines_an_existing_ledger_already_has(ledger: Ledger) -> None:
    a_day_of_work(ledger)
    expected = recount(ledger)
    with ledger.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
        command.upgrade(alembic_config(conn), "head")
    assert totals(ledger) == expected
    today = ledger.clock().date()
    with ledger.reading() as conn:
        reached = tally.reached(conn, today, ["confirmed"])
    assert reached[("acme", "confirmed", today)] == reached_today(ledger, "confirmed")
