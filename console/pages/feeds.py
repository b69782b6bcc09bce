"""Feeds sent to Amazon: ids, state, times, message counts; stuck and fatal marked."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.auth import Viewer
from console.deps import render, seller_scope, viewer
from console.state import ConsoleState, state
from processors.ledger.catalog import recent_feeds
from processors.ledger.statuses import FeedState
from processors.ledger.tracking import STUCK_PREFIX

router = APIRouter()


def feed_mark(state_: str, reason: str | None) -> str | None:
    """ "fatal" or "stuck" for a feed a person should look at, as the tracker marks them."""
    if state_ == FeedState.FATAL:
        return "fatal"
    if state_ == FeedState.CREATED and (reason or "").startswith(STUCK_PREFIX):
        return "stuck"
    return None


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(
    request: Request, who: Viewer = Depends(viewer), st: ConsoleState = Depends(state)
) -> HTMLResponse:
    scope = seller_scope(who, request.query_params.get("seller"))
    feeds = [(f, feed_mark(f.state, f.reason)) for f in recent_feeds(st.ledger, scope)]
    return render(request, "feeds.html", who, feeds=feeds, seller=scope)
