"""Log in and out. The login form is CSRF-protected too (login CSRF would log a victim
into the attacker's account)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console import csrf
from console.auth import authenticate
from console.deps import SESSION_USER, render
from console.state import ConsoleState, state

router = APIRouter()


def _safe_next(next_path: str | None) -> str:
    """Only a path on this console: never an open redirect to another site."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    return next_path


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", dependencies=[Depends(csrf.require_token)])
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    st: ConsoleState = Depends(state),
) -> Response:
    who = authenticate(st.secrets, username, password)
    if who is None:
        page = render(request, "login.html", None, next=_safe_next(next), error=True)
        page.status_code = 401
        return page
    # A new session on login: a token planted before it is not carried over.
    request.session.clear()
    request.session[SESSION_USER] = who.name
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(csrf.require_token)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
