"""Fold validated lines into packages: one Order Fulfillment message per package.

Sellers' files repeat lines (an export run twice, a row copied down). A repeated line must
be confirmed once, so identical lines are collapsed across the whole file. To keep memory
flat on million-line files only a 64-bit digest of each distinct line (and the line it was
first seen on) is remembered, never the Shipment itself.

Item lines that travel in one box (same order, carrier, tracking number, ship method and
ship date) become one Package with several Items. Grouping is done per batch handed to
:meth:`PackageGrouper.add`, so memory does not grow with the file: if lines of one package
are split across two batches they become two messages. Amazon accepts that, because each
message confirms only its own items against the same tracking number.
"""

from __future__ import annotations

from datetime import datetime

from feeds.model import Item, Package, Shipment

_GroupKey = tuple[str, str | None, str | None, str | None, str | None, datetime, bool]


class PackageGrouper:
    """Collapse identical duplicate lines across the whole file; group the lines of one package."""

    def __init__(self) -> None:
        self.duplicates = 0
        self.duplicate_lines: list[tuple[int, int]] = []
        # digest of a distinct line -> the first line it was seen on
        self._seen: dict[int, int] = {}

    def add(self, shipments: list[Shipment]) -> list[Package]:
        """Packages formed from this batch, in the order their first line appeared."""
        seen = self._seen
        setdefault = seen.setdefault
        # one shipment, or a list once a second line joins the same package
        groups: dict[_GroupKey, Shipment | list[Shipment]] = {}
        for s in shipments:
            oid = s.order_id
            date = s.ship_date
            iid = s.order_item_id
            code = s.carrier_code
            name = s.carrier_name
            tracking = s.tracking_number
            method = s.ship_method
            line = s.line
            first = setdefault(
                hash((oid, date, iid, s.quantity, code, name, tracking, method)), line
            )
            if first != line:
                self.duplicates += 1
                self.duplicate_lines.append((line, first))
                continue
            key: _GroupKey = (oid, code, name, tracking, method, date, iid is None)
            group = groups.setdefault(key, s)
            if group is not s:
                if isinstance(group, list):
                    group.append(s)
                else:
                    groups[key] = [group, s]
        out: list[Package] = []
        append = out.append
        for g in groups.values():
            if isinstance(g, list):
                append(_package(g))
            else:
                iid = g.order_item_id
                append(
                    Package(
                        g.order_id,
                        g.ship_date,
                        g.carrier_code,
                        g.carrier_name,
                        g.tracking_number,
                        g.ship_method,
                        () if iid is None else (Item(iid, g.quantity),),
                        (g.line,),
                    )
                )
        return out


def _package(lines: list[Shipment]) -> Package:
    first = lines[0]
    items: tuple[Item, ...] = ()
    if first.order_item_id is not None:
        items = _items(lines)
    return Package(
        first.order_id,
        first.ship_date,
        first.carrier_code,
        first.carrier_name,
        first.tracking_number,
        first.ship_method,
        items,
        tuple(s.line for s in lines),
    )


def _items(lines: list[Shipment]) -> tuple[Item, ...]:
    """One Item per order item; the same item on two lines of one box adds up its quantities.

    A line without a quantity means "all units", which absorbs any counted line of that item.
    """
    quantities: dict[str, int | None] = {}
    for s in lines:
        item_id: str = s.order_item_id  # type: ignore[assignment]
        if item_id not in quantities:
            quantities[item_id] = s.quantity
        else:
            before = quantities[item_id]
            quantities[item_id] = (
                None if before is None or s.quantity is None else before + s.quantity
            )
    return tuple(Item(i, q) for i, q in quantities.items())
