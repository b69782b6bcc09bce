"""Login and rendering helpers shared by the pages.

Login is a dependency of each page router, not a middleware, so the API helper's
/healthz, /readyz and /metrics (no login) and /api/v1 (tokens) can sit beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from console import csrf
from console.auth import Viewer, viewer_of
from console.format import FILTERS
from console.state import ConsoleState, state

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters.update(FILTERS)

SESSION_USER = "user"


class LoginRequired(Exception):
    """Raised by :func:`viewer` for an anonymous request; answered with a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def viewer(request: Request, st: ConsoleState = Depends(state)) -> Viewer:
    """The logged-in viewer, looked up again in the accounts on every request: an account
    removed from the secrets file (or turned into a seller account) takes effect at once."""
    name = request.session.get(SESSION_USER)
    account = st.secrets.console.accounts.get(name) if isinstance(name, str) else None
    if account is None or not isinstance(name, str):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return viewer_of(name, account)


def login_redirect_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='')}"


def seller_scope(who: Viewer, asked: str | None) -> str | None:
    """The seller a query is limited to: the seller account's own, whatever it asked."""
    return who.seller if who.seller is not None else (asked or None)


def not_found() -> HTTPException:
    """The same answer for "does not exist" and "another seller's": nothing to learn."""
    return HTTPException(404, "not found")


def render(request: Request, name: str, who: Viewer | None, **context: Any) -> HTMLResponse:
    st = state(request)
    return templates.TemplateResponse(
        request,
        name,
        {
            "viewer": who,
            "csrf_field": csrf.FIELD,
            "csrf_token": csrf.token(request),
            "sellers": [s.name for s in st.settings.sellers],
            **context,
        },
    )
