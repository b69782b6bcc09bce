"""A failed line replaced by the seller's corrected upload: the new line is sent, the old
one ends superseded and says by which line (and is never resent after it)."""

from __future__ import annotations

from lifecycle_support import World, row

from processors.ledger.queries import order_history

ORDER = "111-0000001-0000001"
ITEM = "12345678901234"
FIXED = "1Z999AA10123456793"


def refused_then_fixed(w: World) -> None:
    """Amazon does not know the order yet (18028); the seller uploads the line again."""
    w.drop("mon.csv", [row(ORDER, ITEM, "1")])
    w.intake()
    w.until_settled()
    assert [r.status for r in w.all_lines()] == ["error"]
    w.order(ORDER, [(ITEM, 1)])
    w.drop("tue.csv", [row(ORDER, ITEM, "1", tracking=FIXED)])
    w.intake()


def test_failed_line_is_superseded_by_the_corrected_upload(world: World) -> None:
    refused_then_fixed(world)
    old, new = order_history(world.ledger, ORDER)
    assert (old.line.status, new.line.status) == ("superseded", "in_queue")
    assert (old.line.message or "").startswith("superseded by the corrected line 2 of tue.csv")
    assert [(e.from_status, e.to_status) for e in old.events][-1] == ("error", "superseded")


def test_corrected_upload_is_confirmed_and_the_old_line_is_not_resent(world: World) -> None:
    refused_then_fixed(world)
    world.until_settled()
    assert world.ledger.resend(errors=True).requeued == []
    statuses = sorted(r.status for r in world.all_lines())
    assert statuses == ["confirmed", "superseded"]
