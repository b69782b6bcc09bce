"""CSRF tokens: one random token per session, required in every POSTed form.

The session cookie is sent with any request the browser makes to the console, even one
started by another site's form; only a page the console rendered knows the token.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request

FIELD = "csrf_token"
_KEY = "csrf"


def token(request: Request) -> str:
    """The session's token, made on first use (before login too: the login form has one)."""
    value = request.session.get(_KEY)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        request.session[_KEY] = value
    return value


async def require_token(request: Request) -> None:
    """A FastAPI dependency for every POST route: 403 unless the form carries the token."""
    form = await request.form()
    sent = form.get(FIELD)
    expected = request.session.get(_KEY)
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise HTTPException(403, "missing form token; reload the page and try again")
    if not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "wrong form token; reload the page and try again")
