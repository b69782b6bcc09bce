"""The SP-API client one seller's credentials use: Feeds and Orders over one connection.

Built from plain values (not Settings) so ``feeds/`` stays free of shipfeed's config; the
command line picks the endpoint (a region's, or the simulator's) and the credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

import httpx
from pydantic import SecretStr

from feeds.spapi.accounts import REGION_ENDPOINTS
from feeds.spapi.auth import LwaAuth
from feeds.spapi.feeds import FeedsApi
from feeds.spapi.orders import OrdersApi
from feeds.spapi.ratelimit import Limiter, RateLimiter
from feeds.spapi.transport import SpApiTransport, default_transport

__all__ = ["REGION_ENDPOINTS", "SpApiClient"]


class SpApiClient:
    """Feeds (``.feeds``) and Orders (``.orders``) for one seller; close it, or use ``with``.

    ``transport`` is where requests go: None for real HTTP, ``httpx.MockTransport`` in
    tests. ``clock`` and ``sleep`` drive the rate limiter, token expiry and backoff, so
    tests inject fakes and never wait. ``limiter`` replaces the client's own buckets (one
    shared by every worker on a PostgreSQL ledger). ``rate_limits=False`` turns the
    client's own pacing off, for a simulator run without limits (``--no-rate-limits``);
    never against Amazon.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        token_url: str,
        client_id: SecretStr | str,
        client_secret: SecretStr | str,
        refresh_token: SecretStr | str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        user_agent: str = "shipfeed/0.1",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rate_limits: bool = True,
        limiter: Limiter | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._http = httpx.Client(
            base_url=self.endpoint,
            transport=transport if transport is not None else default_transport(),
            timeout=timeout,
            headers={"user-agent": user_agent},
            follow_redirects=False,
        )
        self._auth = LwaAuth(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            http=self._http,
            clock=clock,
            sleep=sleep,
            max_retries=max_retries,
        )
        # Its own buckets, unless given a limiter shared by every worker of the account.
        self.limiter: Limiter = (
            limiter
            if limiter is not None
            else RateLimiter(clock=clock, sleep=sleep, enabled=rate_limits)
        )
        self._transport = SpApiTransport(
            http=self._http,
            auth=self._auth,
            limiter=self.limiter,
            max_retries=max_retries,
            sleep=sleep,
        )
        self.feeds = FeedsApi(self._transport)
        self.orders = OrdersApi(self._transport)

    def __repr__(self) -> str:
        return f"SpApiClient(endpoint={self.endpoint!r}, credentials=<hidden>)"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SpApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
