"""An order: its lines, each with its file and line, and the full event history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.actions import actions_for
from console.auth import Viewer
from console.deps import not_found, render, viewer
from console.marketplaces import order_url
from console.pages.queue import FLASH
from console.state import ConsoleState, state
from processors.ledger.errors import UnknownRecord
from processors.ledger.orderfacts import order_facts
from processors.ledger.queries import order_history

router = APIRouter()


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    order_id: str,
    request: Request,
    who: Viewer = Depends(viewer),
    st: ConsoleState = Depends(state),
) -> HTMLResponse:
    try:
        history = order_history(st.ledger, order_id)
    except UnknownRecord:
        raise not_found() from None
    history = [h for h in history if who.may_see(h.line.seller)]
    if not history:
        raise not_found()  # another seller's order reads as no order at all
    links = {}
    for h in history:
        try:
            market = st.settings.seller(h.line.seller).marketplace_id
        except KeyError:
            continue
        links[h.line.seller] = order_url(market, order_id)
    sellers = sorted({h.line.seller for h in history})
    with st.ledger.reading() as conn:
        mirrored = {o.seller: o for o in order_facts(conn, order_id, sellers)}
    return render(
        request,
        "order.html",
        who,
        order_id=order_id,
        history=history,
        links=links,
        actions=actions_for(who),
        flash=request.session.pop(FLASH, None),  # what an action taken here did
        amazon=[(seller, mirrored.get(seller)) for seller in sellers],
        back=f"/orders/{order_id}",
    )
