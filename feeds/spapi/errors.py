"""Typed SP-API failures, so callers decide by class (retry later, fix input, reconcile).

Every error carries what Amazon answered (HTTP status, its ``code``, ``message`` and
``details`` from ``{"errors": [...]}``) and the operation, so an operator can match it to
Amazon's documentation; the text shown to a seller says what to do next. None of them ever
holds a credential: messages are built from Amazon's answer and the operation name only.
"""

from __future__ import annotations

from typing import Any

from feeds.errors import (
    AmazonRejected,
    CredentialsError,
    RemoteTerminalError,
    RemoteTransientError,
)


class AmazonErrorInfo:
    """Mixin holding Amazon's answer next to shipfeed's own words."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        code: str | None = None,
        amazon_message: str | None = None,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)  # type: ignore[call-arg]
        self.operation = operation
        self.status = status
        self.code = code
        self.amazon_message = amazon_message
        self.details = details


class SpApiTransientError(AmazonErrorInfo, RemoteTransientError):
    """Amazon could not answer for now (throttled, failing, unreachable): try later."""


class SpApiTerminalError(AmazonErrorInfo, RemoteTerminalError):
    """Amazon refused the request as it stands: the input must change first."""


class Throttled(SpApiTransientError):
    """Still answered 429 after every allowed retry."""


class RateLimitWouldWait(SpApiTransientError):
    """A call made under ``ratelimit.only_if_free`` found no token there now: it was not
    sent, and nothing was taken from the bucket (an optional call, skipped for now)."""


class ServerError(SpApiTransientError):
    """Amazon answered 5xx after every allowed retry."""


class ConnectionFailed(SpApiTransientError):
    """Timeout or dropped connection after every allowed retry."""


class FeedSubmissionUnknown(SpApiTransientError):
    """createFeed may or may not have created a feed (timeout, dropped connection, 5xx).

    createFeed is not idempotent: sending it again could submit the same shipments twice.
    The caller must look the feed up with ``FeedsApi.find_created_feed`` before creating
    another one.
    """


class InvalidRequest(SpApiTerminalError):
    """400/413/415: Amazon says the request is malformed or invalid."""


class NotFound(SpApiTerminalError):
    """404: the feed, document or order does not exist (for this seller)."""


class ShipmentRejected(AmazonErrorInfo, AmazonRejected):
    """confirmShipment answered 400/404: Amazon refused this shipment as sent (an order or
    item it does not know, a quantity it will not take, a malformed tracking number)."""


class AccessDenied(AmazonErrorInfo, RemoteTerminalError, CredentialsError):
    """403 even with a fresh access token: the app lacks the role or authorisation."""


class LwaCredentialsError(AmazonErrorInfo, RemoteTerminalError, CredentialsError):
    """Login with Amazon refused the client id, secret or refresh token."""


class DocumentError(SpApiTerminalError):
    """A feed document could not be uploaded or downloaded as Amazon described it."""


def amazon_error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """First ``(code, message, details)`` of an SP-API ``{"errors": [...]}`` body."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return (
                _str_or_none(first.get("code")),
                _str_or_none(first.get("message")),
                _str_or_none(first.get("details")),
            )
    return None, None, None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
