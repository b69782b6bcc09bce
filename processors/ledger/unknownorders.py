"""Orders Amazon did not know when the mirror asked: when that was, per order, and which
lines of a file name one (read at intake, to tell the seller at once).

Kept apart from processors.ledger.orders (the mirror itself) because these reads serve
the checks, not the mirror's upkeep.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from processors.ledger.schema import lines, orders_not_found
from processors.ledger.statuses import LineStatus

if TYPE_CHECKING:
    from processors.ledger.base import LedgerBase

_CHUNK = 1_000


class UnknownOrderLine(NamedTuple):
    """A queued line of a file whose order Amazon did not know when last asked."""

    line_id: int
    line_no: int
    order_id: str
    looked_up_at: datetime


def not_found_at(
    ledger: LedgerBase, seller: str, marketplace: str, order_ids: Iterable[str]
) -> dict[str, datetime]:
    """When Amazon last answered "no such order" for each of ``order_ids`` it did not know."""
    ids = sorted(set(order_ids))
    out: dict[str, datetime] = {}
    with ledger.reading() as conn:
        for start in range(0, len(ids), _CHUNK):
            q = select(orders_not_found.c.order_id, orders_not_found.c.looked_up_at).where(
                orders_not_found.c.seller == seller,
                orders_not_found.c.marketplace_id == marketplace,
                orders_not_found.c.order_id.in_(ids[start : start + _CHUNK]),
            )
            out.update({r.order_id: r.looked_up_at for r in conn.execute(q)})
    return out


def unknown_in_file(
    ledger: LedgerBase, file_id: int, seller: str, marketplace: str
) -> list[UnknownOrderLine]:
    """The file's queued lines whose order Amazon did not know when last asked."""
    q = (
        select(
            lines.c.id,
            lines.c.line_no,
            lines.c.order_id,
            orders_not_found.c.looked_up_at,
        )
        .join(
            orders_not_found,
            (orders_not_found.c.order_id == lines.c.order_id)
            & (orders_not_found.c.seller == seller)
            & (orders_not_found.c.marketplace_id == marketplace),
        )
        .where(lines.c.file_id == file_id, lines.c.status == LineStatus.IN_QUEUE.value)
        .order_by(lines.c.line_no)
    )
    with ledger.reading() as conn:
        return [
            UnknownOrderLine(r.id, r.line_no, r.order_id, r.looked_up_at) for r in conn.execute(q)
        ]
