"""Requests and answers as the operation handlers see them, free of the HTTP server.

Handlers take a Request and return an Answer, so the server module alone deals with
sockets, faults and headers, and each handler reads like the operation it plays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feeds.simulator.orderbook import parse_iso


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # path parameters
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw_query: str = ""
    region: str = "NA"  # whose endpoint was called (the /eu prefix: EU)
    partner: str = ""  # the selling partner the access token belongs to

    def json(self) -> Any:
        """The body as JSON, or BadInput (answered 400 InvalidInput)."""
        try:
            return json.loads(self.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"The request body is not valid JSON: {exc}") from None

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def many(self, name: str) -> list[str] | None:
        """A Swagger 2.0 array parameter: comma-separated, repeated names accepted too."""
        values = self.query.get(name)
        if values is None:
            return None
        return [v for raw in values for v in raw.split(",") if v != ""]

    def date(self, name: str) -> datetime | None:
        text = self.one(name)
        if text is None:
            return None
        try:
            return parse_iso(text)
        except ValueError:
            raise BadInput(f"{name} {text!r} is not an ISO 8601 date-time.") from None

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        text = self.one(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadInput(f"{name} must be an integer, got {text!r}.") from None
        if not low <= value <= high:
            raise BadInput(f"{name} must be between {low} and {high}, got {value}.")
        return value


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An SP-API error answer: {"errors": [{"code", "message", "details"}]}."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def answer(self) -> Answer:
        return error_answer(self.status, self.code, self.message, self.details)


class BadInput(ApiError):
    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(400, "InvalidInput", message, details)


class NotFound(ApiError):
    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(404, "NotFound", message, details)


def json_answer(status: int, data: Any) -> Answer:
    return Answer(status, json.dumps(data).encode())


def error_answer(status: int, code: str, message: str, details: str = "") -> Answer:
    return json_answer(status, {"errors": [{"code": code, "message": message, "details": details}]})
