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
from console import health, metrics
from console.api import create_api
from console.deps import LoginRequired, login_redirect_url
from console.pages import feeds, files, login, orders, overview, queue, sellers
from console.reports import Outboxes
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
    outboxes = Outboxes(settings, secrets)
    app.state.console = ConsoleState(settings, secrets, ledger, outboxes)
    app.router.add_event_handler("shutdown", outboxes.close)
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
    for page in (overview, queue, orders, files, feeds, sellers):
        app.include_router(page.router)
    app.include_router(health.router)  # no login: /healthz, /readyz
    app.include_router(metrics.router)  # no login: /metrics
    app.mount("/api/v1", create_api(app.state.console))  # bearer tokens
    return app
