"""One message per order item in a feed: decided before sending, never by Amazon.

Why: two messages for one order item (AmazonOrderID + AmazonOrderItemCode) in one feed
make Amazon apply whichever comes first and reject the other as already fulfilled, so
the seller's intent is lost at random. When two files name the same item with other
shipment details (another tracking number, carrier, date...), the later upload is the
correction: it is sent, and the earlier line ends ``superseded``. Two such lines of one
file are different parcels of a split shipment, not a correction: the later one is held
for the next feed, so that each feed still has one message per item. Identical lines ride
in one message (batcher._packages), as before.

Pure: the batcher applies the plan inside its claim (Claim.supersede).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from processors.ledger.records import LineRow

_Details = tuple[str | None, str | None, str | None, str | None, datetime, int | None]


@dataclass
class ItemPlan:
    send: list[LineRow] = field(default_factory=list)
    superseded: list[tuple[LineRow, LineRow]] = field(default_factory=list)  # (earlier, later)
    held: list[LineRow] = field(default_factory=list)  # left in the queue for the next feed


def _details(r: LineRow) -> _Details:
    return (
        r.carrier_code,
        r.carrier_name,
        r.tracking_number,
        r.ship_method,
        r.ship_date,
        r.quantity,
    )


def one_message_per_item(rows: Sequence[LineRow]) -> ItemPlan:
    """Split claimed lines into those sent now, those superseded and those held back."""
    groups: dict[tuple[str, str | None], list[LineRow]] = {}
    for r in rows:
        groups.setdefault((r.order_id, r.order_item_id), []).append(r)
    plan = ItemPlan()
    chosen: set[int] = set()
    for group in groups.values():
        if len(group) == 1 or len({_details(r) for r in group}) == 1:
            chosen.update(r.id for r in group)
            continue
        latest = max(group, key=lambda r: (r.file_id, r.id))
        for r in group:
            if _details(r) == _details(latest):
                chosen.add(r.id)
            elif r.file_id != latest.file_id:
                plan.superseded.append((r, latest))
            else:
                plan.held.append(r)
    plan.send = [r for r in rows if r.id in chosen]
    return plan
