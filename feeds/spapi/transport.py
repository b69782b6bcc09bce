"""One way to send an SP-API call: rate limit, sign in, send, retry what may be retried.

The only pluggable part is ``httpx.BaseTransport``: ``httpx.HTTPTransport`` talks to
Amazon or to the simulator over HTTP, ``httpx.MockTransport(handler)`` answers in unit
tests. Everything above it (limits, tokens, retries, error mapping) is the same code in
all three, so the tests exercise what runs in production.

Retry rules: 429 waits (the operation's bucket is emptied, then jittered exponential
backoff) and retries; 5xx, timeouts and dropped connections retry a bounded number of
times; an expired access token is refreshed once and the call sent again; any other 4xx is
a typed terminal error carrying Amazon's code and message. A call marked
``once=True`` (createFeed) is never re-sent once it may have reached Amazon.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from feeds.spapi import callstats
from feeds.spapi.auth import LwaAuth
from feeds.spapi.errors import (
    AccessDenied,
    ConnectionFailed,
    DocumentError,
    FeedSubmissionUnknown,
    InvalidRequest,
    NotFound,
    ServerError,
    SpApiTerminalError,
    SpApiTransientError,
    Throttled,
    amazon_error_fields,
)
from feeds.spapi.ratelimit import Limiter

log = logging.getLogger(__name__)

RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
#: Errors where the request never left this machine: safe to send again, even createFeed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: 403 codes Amazon uses when the access token is missing, invalid or expired.
_TOKEN_CODES = {"unauthorized", "invalidaccesstoken", "expiredtoken", "accessdeniedexception"}


def default_transport() -> httpx.BaseTransport:
    """A plain HTTP transport; retries are ours, so httpx's own are off."""
    return httpx.HTTPTransport(retries=0)


def _outcome(status: int) -> str:
    if status < 400:
        return callstats.OK
    return callstats.THROTTLED if status == 429 else callstats.ERROR


class _Retry(Exception):
    """Internal: the wrapped error may go away if the call is sent again."""

    def __init__(self, error: SpApiTransientError) -> None:
        super().__init__(str(error))
        self.error = error


def _where(url: str | httpx.URL) -> str:
    """Host and path only: pre-signed URLs carry signatures in their query."""
    parts = urlsplit(str(url))
    return f"{parts.netloc}{parts.path}"


class SpApiTransport:
    """Sends SP-API calls for one seller's credentials."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        auth: LwaAuth,
        limiter: Limiter,
        max_retries: int,
        sleep: Callable[[float], None] = time.sleep,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        self._http = http
        self._auth = auth
        self._limiter = limiter
        self._max_retries = max_retries
        self._sleep = sleep
        self._wait = wait_exponential_jitter(initial=backoff_initial, max=backoff_max, jitter=1.0)

    def __repr__(self) -> str:
        return f"SpApiTransport(base_url={str(self._http.base_url)!r})"

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            reraise=True,
        )

    # -- SP-API operations -------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        once: bool = False,
    ) -> Any:
        """Send one operation; returns the decoded JSON body (None when there is none).

        ``once``: the call is not idempotent (createFeed). A timeout, dropped connection or
        5xx after the request may have reached Amazon raises FeedSubmissionUnknown instead
        of sending it again; 429 and failures to connect at all are still retried.
        """
        try:
            for attempt in self._retrying():
                with attempt:
                    return self._attempt(operation, method, path, params, json, once)
        except _Retry as wrapped:
            raise wrapped.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Any,
        once: bool,
    ) -> Any:
        refreshed = False
        while True:
            self._limiter.acquire(operation)
            token = self._auth.access_token()
            try:
                resp = self._http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    headers={"x-amz-access-token": token, "accept": "application/json"},
                )
            except _NOT_SENT as exc:
                callstats.report(operation, callstats.ERROR)
                raise _Retry(self._lost(operation, exc)) from None
            except httpx.TransportError as exc:
                callstats.report(operation, callstats.ERROR)
                if once:
                    raise self._unknown(operation, type(exc).__name__) from None
                raise _Retry(self._lost(operation, exc)) from None
            log.debug("%s %s %s -> %s", operation, method, path, resp.status_code)
            self._limiter.observe(operation, resp.headers.get(RATE_LIMIT_HEADER))
            callstats.report(operation, _outcome(resp.status_code))
            if resp.is_success:
                return self._decode(operation, resp, once)
            body = self._json_or_none(resp)
            code, message, details = amazon_error_fields(body)
            if not refreshed and self._token_expired(resp.status_code, code, message, details):
                log.debug("%s: access token refused, refreshing it once", operation)
                self._auth.invalidate(token)
                refreshed = True
                continue
            raise self._failure(operation, resp.status_code, code, message, details, once)

    def _decode(self, operation: str, resp: httpx.Response, once: bool) -> Any:
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            if once:
                raise self._unknown(operation, "an unreadable answer") from None
            raise _Retry(
                ServerError(
                    f"Amazon answered {operation} with unreadable data",
                    operation=operation,
                    status=resp.status_code,
                    hint="Amazon's side; shipfeed will try again",
                )
            ) from None

    @staticmethod
    def _json_or_none(resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            return None

    @staticmethod
    def _token_expired(
        status: int, code: str | None, message: str | None, details: str | None
    ) -> bool:
        if status == 401:
            return True
        if status != 403:
            return False
        text = " ".join(t for t in (message, details) if t).lower()
        return (code or "").replace(" ", "").lower() in _TOKEN_CODES or "expired" in text

    def _failure(
        self,
        operation: str,
        status: int,
        code: str | None,
        message: str | None,
        details: str | None,
        once: bool,
    ) -> Exception:
        scrub = self._auth.scrub
        code = scrub(code) if code else None
        message = scrub(message) if message else None
        details = scrub(details) if details else None
        said = f"{code}: {message}" if code or message else f"HTTP {status}"
        info: dict[str, Any] = {
            "operation": operation,
            "status": status,
            "code": code,
            "amazon_message": message,
            "details": details,
        }
        if status == 429:
            self._limiter.throttled(operation)
            return _Retry(
                Throttled(
                    f"Amazon is throttling {operation} ({said})",
                    hint="shipfeed sends fewer requests and tries again later",
                    **info,
                )
            )
        if status >= 500:
            if once:
                return self._unknown(operation, f"HTTP {status} ({said})", status=status)
            return _Retry(
                ServerError(
                    f"Amazon failed to answer {operation} (HTTP {status}, {said})",
                    hint="Amazon's side; shipfeed will try again",
                    **info,
                )
            )
        if status == 404:
            return NotFound(
                f"Amazon does not know what {operation} asked for ({said})",
                hint="check the order or feed id, and that it belongs to this seller account",
                **info,
            )
        if status in (401, 403):
            return AccessDenied(
                f"Amazon denied {operation} ({said})",
                hint="the app may lack the role for this API, or the seller must authorise "
                "it again",
                **info,
            )
        if status in (400, 413, 415, 422):
            return InvalidRequest(
                f"Amazon rejected {operation} as invalid ({said})",
                hint="correct the data named in Amazon's message and send it again",
                **info,
            )
        return SpApiTerminalError(
            f"Amazon refused {operation} (HTTP {status}, {said})",
            hint="see Amazon's message",
            **info,
        )

    @staticmethod
    def _lost(operation: str, exc: httpx.TransportError) -> ConnectionFailed:
        return ConnectionFailed(
            f"no answer from Amazon for {operation}: {type(exc).__name__}",
            operation=operation,
            hint="check the network; shipfeed will try again",
        )

    @staticmethod
    def _unknown(operation: str, what: str, status: int | None = None) -> FeedSubmissionUnknown:
        return FeedSubmissionUnknown(
            f"{operation} got {what}: Amazon may or may not have created the feed",
            operation=operation,
            status=status,
            hint="shipfeed looks the feed up with getFeeds before sending it again",
        )

    # -- pre-signed document URLs ------------------------------------------------------

    def presigned(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[bytes, httpx.Headers]:
        """PUT or GET a pre-signed document URL; returns the body exactly as sent (raw).

        No access token goes with it (the URL is its own authorisation) and no rate limit
        applies. The body is read raw: a ``Content-Encoding: gzip`` is left for the caller,
        who knows whether the document itself is compressed, so it is decompressed once.
        """
        try:
            for attempt in self._retrying():
                with attempt:
                    return self._presigned_once(method, url, content, headers)
        except _Retry as wrapped:
            raise wrapped.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _presigned_once(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[bytes, httpx.Headers]:
        where = _where(url)
        request = self._http.build_request(method, url, content=content, headers=headers)
        # The URL is pre-signed: whatever default headers the client has, no token.
        request.headers.pop("x-amz-access-token", None)
        try:
            resp = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _Retry(
                ConnectionFailed(
                    f"document transfer to {where} failed: {type(exc).__name__}",
                    operation=f"document {method}",
                    hint="check the network; shipfeed will try again",
                )
            ) from None
        try:
            try:
                raw = b"".join(resp.iter_raw())
            except httpx.TransportError as exc:
                raise _Retry(
                    ConnectionFailed(
                        f"document transfer from {where} broke off: {type(exc).__name__}",
                        operation=f"document {method}",
                        hint="check the network; shipfeed will try again",
                    )
                ) from None
        finally:
            resp.close()
        log.debug("document %s %s -> %s (%d bytes)", method, where, resp.status_code, len(raw))
        if resp.is_success:
            return raw, resp.headers
        said = raw[:200].decode("utf-8", "replace")
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retry(
                ServerError(
                    f"document storage failed (HTTP {resp.status_code}) for {where}",
                    operation=f"document {method}",
                    status=resp.status_code,
                    hint="Amazon's side; shipfeed will try again",
                )
            )
        raise DocumentError(
            f"document storage refused {method} {where} (HTTP {resp.status_code})",
            operation=f"document {method}",
            status=resp.status_code,
            amazon_message=self._auth.scrub(said),
            hint="pre-signed URLs expire after 5 minutes: ask Amazon for a new document",
        )
