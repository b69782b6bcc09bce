"""The console's ASGI app: ``create_app(settings, secrets, ledger)``.

FastAPI rather than bare Starlette: the REST API beside the pages (/api/v1) gets its
OpenAPI document from the same routes. Pages are server-rendered and work without
JavaScript.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from config.settings import Secrets, Settings
from console.deps import LoginRequired, login_redirect_url
from console.pages import login, overview
from console.sessionkey import session_key
from console.state import ConsoleState
from processors.ledger.store import Ledger

SESSION_COOKIE = "shipfeed_console"
SESSION_HOURS = 12


def create_app(settings: Settings, secrets: Secrets, ledger: Ledger) -> FastAPI:
    app = FastAPI(
        title="shipfeed console",
        docs_url=None,  # the API helper serves its own docs under /api/v1
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console = ConsoleState(settings, secrets, ledger)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key(secrets, settings.data_dir),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="strict",
        https_only=False,  # served on loopback over plain HTTP unless put behind TLS
    )

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_redirect_url(exc.next_path), status_code=303)

    app.include_router(login.router)
    app.include_router(overview.router)
    return app
