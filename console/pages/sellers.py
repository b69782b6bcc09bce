"""Sellers: inbox and outbox health, the Amazon login, lines in each status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.auth import Viewer
from console.deps import render, viewer
from console.state import ConsoleState, state
from processors.ledger import health
from processors.ledger.queries import status_counts

router = APIRouter()


@router.get("/sellers", response_class=HTMLResponse)
def sellers_page(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    components = health.read(st.ledger)
    login = next((h for h in components if h.component == health.AMAZON_LOGIN), None)
    sellers = []
    for s in st.settings.sellers:
        if not who.may_see(s.name):
            continue
        # The steps that touch a seller's inbox and outbox: intake reads it, report writes.
        steps = [h for h in components if h.component.startswith("step:")]
        sellers.append(
            {
                "settings": s,
                "counts": status_counts(st.ledger, s.name),
                "steps": steps,
            }
        )
    return render(request, "sellers.html", who, sellers=sellers, login=login)
