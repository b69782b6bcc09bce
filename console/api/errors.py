"""The API's one error shape: ``{"error": {"code", "field", "reason"}}``.

``code`` is stable (clients branch on it), ``field`` names the input at fault (None when
none is), ``reason`` is for a person. Every refusal goes through here, including
FastAPI's own validation errors, so a client never meets a second shape.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.field = field


def body(code: str, reason: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "field": field, "reason": reason}}


def not_found(what: str) -> ApiError:
    """The same answer for "does not exist" and "another seller's": nothing to learn."""
    return ApiError(404, "not_found", f"no such {what}")


async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body(exc.code, exc.reason, exc.field), exc.status, headers=headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    return JSONResponse(
        body("invalid_request", str(first.get("msg", "invalid")), ".".join(loc) or None), 422
    )


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(body(code, str(exc.detail)), exc.status_code)
