"""The REST API for API users, mounted at /api/v1 (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.api import errors, reads, shipments
from console.state import ConsoleState


def create_api(console: ConsoleState) -> FastAPI:
    """A sub-application: its own error shape and OpenAPI document, the console's ledger."""
    api = FastAPI(
        title="shipfeed API",
        version="1",
        description="Queue shipment confirmations and read their outcome. Every call needs "
        "Authorization: Bearer <token>; a token acts for one seller.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.state.console = console
    api.add_exception_handler(errors.ApiError, errors.on_api_error)
    api.add_exception_handler(RequestValidationError, errors.on_validation_error)
    api.add_exception_handler(StarletteHTTPException, errors.on_http_error)
    api.include_router(shipments.router)
    api.include_router(reads.router)
    return api
