"""The queue: every line, filtered and searched, keyset-paged; select lines and act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console import csrf
from console.actions import ACTIONS, actions_for, run_action, selected_lines
from console.auth import Viewer
from console.deps import not_found, render, seller_scope, viewer
from console.state import ConsoleState, state
from processors.ledger.browse import QueueFilter, browse
from processors.ledger.statuses import LineStatus

router = APIRouter()
FLASH = "flash"


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat((value or "").strip()).replace(tzinfo=UTC)
    except ValueError:
        return None


def queue_filter(request: Request, who: Viewer) -> QueueFilter:
    """The filter from the query string; a seller account is held to its own seller."""
    p = request.query_params
    status = p.get("status") or None
    if status is not None and status not in {s.value for s in LineStatus}:
        status = None
    ship_to = _date(p.get("ship_to"))
    hours = _int(p.get("age_hours"))
    return QueueFilter(
        status=status,
        seller=seller_scope(who, p.get("seller")),
        file_id=_int(p.get("file")),
        feed_id=_int(p.get("feed")),
        ship_from=_date(p.get("ship_from")),
        ship_to=ship_to + timedelta(days=1) if ship_to else None,  # the day itself included
        min_age=timedelta(hours=hours) if hours else None,
        search=(p.get("q") or "").strip() or None,
    )


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    f = queue_filter(request, who)
    page = browse(st.ledger, f, before=_int(request.query_params.get("before")))
    kept = {k: v for k, v in request.query_params.items() if k != "before" and v}
    next_url = (
        f"/queue?{urlencode({**kept, 'before': page.next_before})}" if page.next_before else None
    )
    return render(
        request,
        "queue.html",
        who,
        page=page,
        f=f,
        params=request.query_params,
        statuses=[s.value for s in LineStatus],
        next_url=next_url,
        first_url=f"/queue?{urlencode(kept)}",
        actions=actions_for(who),
        flash=request.session.pop(FLASH, None),
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


def _safe_back(back: str) -> str:
    return back if back.startswith("/") and not back.startswith("//") else "/queue"


@router.post("/queue/action", dependencies=[Depends(csrf.require_token)])
def confirm_action(
    request: Request,
    action: str = Form(...),
    line: list[int] = Form(default_factory=list),
    order: str = Form(""),
    back: str = Form("/queue"),
    confirmed: str = Form(""),
    note: str = Form(""),
    who: Viewer = Depends(viewer),
    st: ConsoleState = Depends(state),
) -> Response:
    """First post: a page saying what will happen to which lines. Second (confirmed):
    the ledger does it, each change an event naming the account. ``line`` picks lines,
    ``order`` every line of one order; another seller's line or order answers 404."""
    if action not in ACTIONS:
        raise HTTPException(400, "unknown action")
    if action not in actions_for(who):
        raise HTTPException(403, f"this account may not {ACTIONS[action].lower()}")
    chosen = selected_lines(st.ledger, line, order.strip() or None, who.seller)
    if chosen is None:
        raise not_found()
    if not confirmed:
        return render(
            request,
            "confirm.html",
            who,
            action=action,
            label=ACTIONS[action],
            chosen=chosen,
            back=_safe_back(back),
        )
    result = run_action(st.ledger, action, chosen, who.name, who.seller, note=note)
    # Kept short: the session is a cookie, and browsers drop cookies over 4 KB.
    request.session[FLASH] = f"{ACTIONS[action]}: {result.text()}"[:1500]
    return RedirectResponse(_safe_back(back), status_code=303)
