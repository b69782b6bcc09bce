"""GET endpoints: an order's lines and history, a file's status, the queue. A token sees
its own seller's records only; another seller's answer 404, as missing ones do."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from config.settings import SellerSettings
from console.api.access import caller
from console.api.errors import not_found
from console.api.views import (
    browse_row_json,
    file_json,
    history_json,
    order_facts_json,
    totals_json,
    upload_json,
)
from console.auth import Viewer
from console.pages.queue import queue_filter
from console.state import ConsoleState, state
from processors.ledger import uploads
from processors.ledger.browse import browse
from processors.ledger.errors import UnknownRecord
from processors.ledger.orderfacts import order_facts
from processors.ledger.queries import file_done, order_history
from processors.ledger.statuses import LineStatus

router = APIRouter()


@router.get("/orders/{order_id}", summary="An order's lines, each with its history")
def get_order(
    order_id: str,
    seller: SellerSettings = Depends(caller),
    st: ConsoleState = Depends(state),
) -> dict[str, Any]:
    try:
        found = order_history(st.ledger, order_id)
    except UnknownRecord:
        raise not_found("order") from None
    mine = [h for h in found if h.line.seller == seller.name]
    if not mine:
        raise not_found("order")
    with st.ledger.reading() as conn:
        mirrored = order_facts(conn, order_id, [seller.name])
    return {
        "order_id": order_id,
        "amazon": order_facts_json(mirrored[0] if mirrored else None),
        "lines": [history_json(h) for h in mine],
    }


@router.get(
    "/files/{file_id}",
    summary="A file's (or an API POST's) intake counts and status, and later copies of it",
)
def get_file(
    file_id: int,
    seller: SellerSettings = Depends(caller),
    st: ConsoleState = Depends(state),
) -> dict[str, Any]:
    try:
        f = st.ledger.file(file_id)
    except UnknownRecord:
        raise not_found("file") from None
    if f.seller != seller.name:
        raise not_found("file")
    return {
        **file_json(f),
        "all_lines_ended": file_done(st.ledger, file_id),
        "duplicate_uploads": [upload_json(u) for u in uploads.copies_of(st.ledger, file_id)],
    }


@router.get("/queue", summary="Lines, newest first, with the queue page's filters")
def get_queue(
    request: Request,
    status: Annotated[LineStatus | None, Query()] = None,
    file: Annotated[int | None, Query(description="a file id")] = None,
    feed: Annotated[int | None, Query(description="a feed id")] = None,
    ship_from: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    ship_to: Annotated[str | None, Query(description="YYYY-MM-DD, included")] = None,
    age_hours: Annotated[int | None, Query(ge=0, description="in its status this long")] = None,
    q: Annotated[str | None, Query(description="order id, tracking number or file name")] = None,
    before: Annotated[int | None, Query(description="next_before of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    seller: SellerSettings = Depends(caller),
    st: ConsoleState = Depends(state),
) -> dict[str, Any]:
    # The web queue page's own filter parsing and query: the same filters mean the same
    # lines in both; the token's seller stands in for a seller account's login.
    f = queue_filter(request, Viewer(f"api:{seller.name}", seller.name))
    page = browse(st.ledger, f, before=before, limit=limit)
    return {
        "rows": [browse_row_json(r) for r in page.rows],
        "next_before": page.next_before,
        "counts": page.counts,
        "totals": totals_json(page),
    }
