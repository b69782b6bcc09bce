"""Login with Amazon: trade the seller's refresh token for short-lived access tokens.

The access token is cached until shortly before it expires (one round trip to LWA per
hour instead of one per call). The client id, secret and refresh token are kept as
``SecretStr`` and are never logged, put in an exception or shown in a repr; any text from
LWA is scrubbed of them before it is shown, in case the server echoes a value back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from feeds.spapi.errors import ConnectionFailed, LwaCredentialsError, ServerError

log = logging.getLogger(__name__)

#: Refresh this long before LWA's stated expiry, so a token never expires in flight.
EXPIRY_MARGIN_SECONDS = 60.0


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class LwaAuth:
    """Hands out a valid access token; ``invalidate`` after Amazon says it expired."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: SecretStr | str,
        client_secret: SecretStr | str,
        refresh_token: SecretStr | str,
        http: httpx.Client,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
    ) -> None:
        self._token_url = token_url
        self._client_id = _secret(client_id)
        self._client_secret = _secret(client_secret)
        self._refresh_token = _secret(refresh_token)
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._max_retries = max_retries
        self._access_token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LwaAuth(token_url={self._token_url!r}, credentials=<hidden>)"

    def scrub(self, text: str) -> str:
        """``text`` with every credential (and the current access token) replaced."""
        values = [self._client_id, self._client_secret, self._refresh_token, self._access_token]
        for secret in values:
            if secret is not None and secret.get_secret_value():
                text = text.replace(secret.get_secret_value(), "***")
        return text

    def access_token(self) -> str:
        with self._lock:
            if self._access_token is None or self._clock() >= self._expires_at:
                self._fetch()
            assert self._access_token is not None
            return self._access_token.get_secret_value()

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            current = self._access_token
            if token is None or (current is not None and current.get_secret_value() == token):
                self._access_token = None
                self._expires_at = 0.0

    def _fetch(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token.get_secret_value(),
            "client_id": self._client_id.get_secret_value(),
            "client_secret": self._client_secret.get_secret_value(),
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._http.post(
                    self._token_url, data=form, headers={"accept": "application/json"}
                )
            except httpx.TransportError as exc:
                if attempt > self._max_retries:
                    raise ConnectionFailed(
                        f"cannot reach Login with Amazon: {type(exc).__name__}",
                        operation="lwaToken",
                        hint="check the network; shipfeed will try again",
                    ) from None
                self._sleep(min(60.0, 2.0**attempt))
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                if attempt > self._max_retries:
                    raise ServerError(
                        f"Login with Amazon is failing (HTTP {resp.status_code})",
                        operation="lwaToken",
                        status=resp.status_code,
                        hint="Amazon's side; shipfeed will try again",
                    )
                self._sleep(min(60.0, 2.0**attempt))
                continue
            break
        if resp.status_code != 200:
            self._refused(resp)
        try:
            body = resp.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise LwaCredentialsError(
                "Login with Amazon answered without an access token",
                operation="lwaToken",
                status=resp.status_code,
                hint="check the token URL in the settings",
            ) from None
        self._access_token = SecretStr(token)
        self._expires_at = self._clock() + max(0.0, expires_in - EXPIRY_MARGIN_SECONDS)
        log.debug("obtained an LWA access token valid for %.0fs", expires_in)

    def _refused(self, resp: httpx.Response) -> None:
        code: str | None = None
        description: str | None = None
        try:
            body = resp.json()
            if isinstance(body, dict):
                code = self.scrub(str(body.get("error"))) if body.get("error") else None
                if body.get("error_description"):
                    description = self.scrub(str(body["error_description"]))
        except ValueError:
            pass
        words = f": {code}" + (f" ({description})" if description else "") if code else ""
        raise LwaCredentialsError(
            f"Login with Amazon refused the SP-API credentials (HTTP {resp.status_code}{words})",
            operation="lwaToken",
            status=resp.status_code,
            code=code,
            amazon_message=description,
            hint="check the LWA client id, client secret and refresh token in the environment "
            "or secrets file; the seller may need to authorise the app again",
        )
