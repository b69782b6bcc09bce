"""The overview: the counts that matter at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.auth import Viewer
from console.deps import render, viewer
from console.state import ConsoleState, state
from processors.ledger.queries import status_counts

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    counts = status_counts(st.ledger, who.seller)
    return render(request, "overview.html", who, counts=counts)
