"""Sellers: inbox and outbox health, the Amazon login, lines in each status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.auth import Viewer
from console.deps import render, viewer
from console.state import ConsoleState, state
from processors.alertsources import INBOX_PREFIX, OUTBOX_PREFIX
from processors.ledger import health
from processors.ledger.queries import status_counts

router = APIRouter()


@router.get("/sellers", response_class=HTMLResponse)
def sellers_page(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    components = {h.component: h for h in health.read(st.ledger)}
    # With several Amazon accounts each has its own login row: a refused one is shown.
    logins = [h for name, h in sorted(components.items()) if health.is_login(name)]
    login = next((h for h in logins if h.state == health.REFUSED), None) or next(iter(logins), None)
    sellers = [
        {
            "settings": s,
            "counts": status_counts(st.ledger, s.name),
            # The service records each poll of an inbox and each write to an outbox.
            "boxes": [
                ("inbox", components.get(INBOX_PREFIX + s.name)),
                ("outbox", components.get(OUTBOX_PREFIX + s.name)),
            ],
        }
        for s in st.settings.sellers
        if who.may_see(s.name)
    ]
    steps = [h for name, h in sorted(components.items()) if name.startswith("step:")]
    return render(
        request,
        "sellers.html",
        who,
        sellers=sellers,
        login=login,
        login_account=health.login_account(login.component) if login else None,
        steps=steps if who.is_operator else [],
    )
