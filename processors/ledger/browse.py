"""The console's queue: every line, filtered and searched, paged newest first by id.

Keyset paging (``id < before``) instead of OFFSET: page 500 of a million lines costs
what page 1 costs, because each page starts where the index says, not after counting
the lines before it. The filters each have an index (migration 0005 and earlier).

Price, order date and order total come from the order mirror, looked up for the page's
lines only (processors.ledger.orderfacts): the paging query stays the lines' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select

from processors.ledger.orderfacts import Amounts, Money, OrderFacts, amounts, for_orders
from processors.ledger.schema import files, lines
from processors.ledger.statuses import LineStatus
from processors.ledger.store import Ledger

PAGE_SIZE = 100
#: Counts per status stop here ("1,000+"): an exact count of 600,000 confirmed lines
#: would read them all on every page view; each capped count reads at most this many
#: index entries, so the page costs the same at a million lines as at a thousand.
COUNT_CAP = 1_000


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the queue page was asked for; every field optional."""

    status: str | None = None
    seller: str | None = None
    file_id: int | None = None
    feed_id: int | None = None
    ship_from: datetime | None = None
    ship_to: datetime | None = None  # exclusive
    min_age: timedelta | None = None  # in the current status at least this long
    search: str | None = None  # an order id, a tracking number, or part of a file name


@dataclass(frozen=True, slots=True)
class BrowseRow:
    line_id: int
    seller: str
    file_id: int
    line_no: int
    order_id: str
    order_item_id: str | None
    status: str
    quantity: int | None
    ship_date: datetime
    carrier: str | None
    tracking_number: str | None
    age: timedelta
    message: str | None
    #: the seller's mirrored copy of the order; None: not yet mirrored from Amazon
    order: OrderFacts | None = None

    @property
    def price(self) -> Money | None:
        return None if self.order is None else self.order.price_of(self.order_item_id)

    @property
    def order_date(self) -> datetime | None:
        return None if self.order is None else self.order.purchase_date

    @property
    def order_total(self) -> Money | None:
        return None if self.order is None else self.order.total


@dataclass(frozen=True, slots=True)
class ViewTotals:
    """Every line the filter matches (not just the page): lines, items, amount."""

    lines: int
    items: int
    amount: Amounts


@dataclass(frozen=True, slots=True)
class BrowsePage:
    rows: list[BrowseRow]
    next_before: int | None  # the cursor of the next page, None on the last
    #: per status, for the filter; COUNT_CAP + 1 stands for "more than COUNT_CAP"
    counts: dict[str, int] = field(default_factory=dict)
    #: the whole filtered view's totals, when it is small enough to add up (at most
    #: COUNT_CAP lines); None when larger: then only the page is added up
    view: ViewTotals | None = None

    @property
    def items(self) -> int:
        """Items on this page: the sum of the quantities (a line without one counts 1)."""
        return sum(_items(r.quantity) for r in self.rows)

    @property
    def amount(self) -> Amounts:
        """The prices on this page, per currency, and how many lines had none."""
        return amounts(r.price for r in self.rows)


def _items(quantity: int | None) -> int:
    return quantity if quantity is not None else 1


def _named_files(conn: Connection, f: QueueFilter) -> list[int]:
    """Files whose name holds the search term, looked up first (the files table is small)
    so that the line query is an OR of indexed equalities the database can use."""
    if not f.search:
        return []
    q = select(files.c.id).where(files.c.name.contains(f.search.strip(), autoescape=True))
    if f.seller:
        q = q.where(files.c.seller == f.seller)
    return list(conn.execute(q.limit(1000)).scalars())


def _conditions(
    ledger: Ledger, f: QueueFilter, named: list[int], *, with_status: bool = True
) -> list[Any]:
    cond: list[Any] = []
    if with_status and f.status:
        cond.append(lines.c.status == f.status)
    if f.seller:
        cond.append(lines.c.seller == f.seller)
    if f.file_id is not None:
        cond.append(lines.c.file_id == f.file_id)
    if f.feed_id is not None:
        cond.append(lines.c.feed_id == f.feed_id)
    if f.ship_from is not None:
        cond.append(lines.c.ship_date >= f.ship_from)
    if f.ship_to is not None:
        cond.append(lines.c.ship_date < f.ship_to)
    if f.min_age is not None:
        cond.append(lines.c.status_changed_at <= ledger.clock() - f.min_age)
    if f.search:
        term = f.search.strip()
        found = [lines.c.order_id == term, lines.c.tracking_number == term]
        if named:
            found.append(lines.c.file_id.in_(named))
        cond.append(or_(*found))
    return cond


def browse(
    ledger: Ledger, f: QueueFilter, *, before: int | None = None, limit: int = PAGE_SIZE
) -> BrowsePage:
    """One page of lines matching ``f``, newest first, and the count per status of every
    line the filter matches apart from its status (so the page shows what each status
    filter would find)."""
    with ledger.reading() as conn:
        return _browse(conn, ledger, f, before, limit)


def _browse(
    conn: Connection, ledger: Ledger, f: QueueFilter, before: int | None, limit: int
) -> BrowsePage:
    named = _named_files(conn, f)
    cond = _conditions(ledger, f, named)
    if before is not None:
        cond.append(lines.c.id < before)
    q = (
        select(
            lines.c.id,
            lines.c.seller,
            lines.c.file_id,
            lines.c.line_no,
            lines.c.order_id,
            lines.c.order_item_id,
            lines.c.status,
            lines.c.quantity,
            lines.c.ship_date,
            lines.c.carrier_code,
            lines.c.carrier_name,
            lines.c.tracking_number,
            lines.c.status_changed_at,
            lines.c.message,
        )
        .where(*cond)
        .order_by(lines.c.id.desc())
        .limit(limit + 1)
    )
    others = _conditions(ledger, f, named, with_status=False)
    now = ledger.clock()
    found = conn.execute(q).all()
    counts = {}
    for s in LineStatus:
        # Ordered by id so the (status, id) index is walked: a plain LIMIT lets
        # PostgreSQL pick a sequential scan, which first reads every other status's rows.
        capped = (
            select(lines.c.id)
            .where(lines.c.status == s.value, *others)
            .order_by(lines.c.id.desc())
            .limit(COUNT_CAP + 1)
        ).subquery()
        counts[s.value] = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    page = found[:limit]
    facts = for_orders(conn, {(r.seller, r.order_id) for r in page})
    rows = [
        BrowseRow(
            line_id=r.id,
            seller=r.seller,
            file_id=r.file_id,
            line_no=r.line_no,
            order_id=r.order_id,
            order_item_id=r.order_item_id,
            status=r.status,
            quantity=r.quantity,
            ship_date=r.ship_date,
            carrier=r.carrier_code or r.carrier_name,
            tracking_number=r.tracking_number,
            age=now - r.status_changed_at,
            message=r.message,
            order=facts.get((r.seller, r.order_id)),
        )
        for r in page
    ]
    more = len(found) > limit and bool(rows)
    view = None
    matched = counts[f.status] if f.status else sum(counts.values())
    if all(n <= COUNT_CAP for n in counts.values()) and matched <= COUNT_CAP:
        view = _view_totals(conn, _conditions(ledger, f, named))
    return BrowsePage(
        rows=rows, next_before=rows[-1].line_id if more else None, counts=counts, view=view
    )


def _view_totals(conn: Connection, cond: list[Any]) -> ViewTotals:
    """Lines, items and the sum of prices of every line the filter matches: read only
    when the counts say there are at most COUNT_CAP of them."""
    q = select(lines.c.seller, lines.c.order_id, lines.c.order_item_id, lines.c.quantity)
    found = conn.execute(q.where(*cond).limit(COUNT_CAP + 1)).all()
    facts = for_orders(conn, {(r.seller, r.order_id) for r in found})
    prices = []
    for r in found:
        order = facts.get((r.seller, r.order_id))
        prices.append(None if order is None else order.price_of(r.order_item_id))
    return ViewTotals(
        lines=len(found), items=sum(_items(r.quantity) for r in found), amount=amounts(prices)
    )
