"""The overview: the counts that matter at a glance, and a 30-day chart per seller."""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from console.auth import Viewer
from console.chart import activity_svg
from console.deps import render, viewer
from console.state import ConsoleState, state
from processors.ledger.activity import daily_activity
from processors.ledger.catalog import files_received_since
from processors.ledger.glance import glance

router = APIRouter()


def files_today(st: ConsoleState, seller: str | None) -> int:
    now: datetime = st.ledger.clock()
    start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    return files_received_since(st.ledger, start, seller)


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    names = [s.name for s in st.settings.sellers]
    counts = glance(st.ledger, who.seller)
    charts = [
        (a.seller, Markup(activity_svg(a)), counts.oldest_by_seller.get(a.seller))
        for a in daily_activity(st.ledger, names, seller=who.seller)
    ]
    return render(
        request,
        "overview.html",
        who,
        counts=counts,
        new_files=files_today(st, who.seller),
        charts=charts,
    )
