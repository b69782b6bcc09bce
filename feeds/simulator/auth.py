"""Login with Amazon (LWA) as the simulator plays it: refresh token in, access token out.

Access tokens are random and remembered with their expiry, so a caller holding an old or
made-up token is refused the way Amazon refuses it (403 Unauthorized), and a test can make
one token expire early to see the caller refresh.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

UNAUTHORIZED_MESSAGE = "Access to requested resource is denied."
EXPIRED_DETAILS = "The access token you provided has expired."
INVALID_DETAILS = "The access token you provided is revoked, malformed or invalid."


@dataclass
class LwaError(Exception):
    status: int
    error: str
    description: str


@dataclass(frozen=True)
class Partner:
    """A selling partner that authorised the application: its refresh token opens its
    own account (feeds, rate limits) in its own region, and no other."""

    refresh_token: str
    merchant_id: str  # the selling partner id; the key of everything kept per account
    region: str = "NA"


class TokenStore:
    def __init__(self, client_id: str, client_secret: str, lifetime: int) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._partners: dict[str, Partner] = {}  # refresh token -> partner
        self._expiry: dict[str, tuple[float, Partner]] = {}

    def add(self, partner: Partner) -> Partner:
        with self._lock:
            self._partners[partner.refresh_token] = partner
        return partner

    def partners(self) -> list[Partner]:
        with self._lock:
            return list(self._partners.values())

    def revoke(self, merchant_id: str) -> None:
        """The seller withdrew the authorisation: its refresh token is refused from now
        on (invalid_grant) and its access tokens too, as Amazon does."""
        with self._lock:
            for token, partner in list(self._partners.items()):
                if partner.merchant_id == merchant_id:
                    del self._partners[token]
            for access, (_, partner) in list(self._expiry.items()):
                if partner.merchant_id == merchant_id:
                    del self._expiry[access]

    def grant(self, form: dict[str, str]) -> dict[str, object]:
        """Answer a token request, or raise LwaError with LWA's status and error code."""
        grant_type = form.get("grant_type", "")
        if grant_type not in ("refresh_token", "client_credentials"):
            raise LwaError(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        if not form.get("client_id") or not form.get("client_secret"):
            raise LwaError(400, "invalid_request", "client_id and client_secret are required.")
        if not (
            secrets.compare_digest(form["client_id"], self._client_id)
            and secrets.compare_digest(form["client_secret"], self._client_secret)
        ):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        if grant_type == "refresh_token":
            given = form.get("refresh_token", "")
            if not given:
                raise LwaError(400, "invalid_request", "refresh_token is required.")
            with self._lock:
                partner = self._partners.get(given)
            if partner is None:
                raise LwaError(
                    400,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                )
        elif not form.get("scope"):
            raise LwaError(400, "invalid_scope", "scope is required for client_credentials.")
        else:  # a grantless token: not bound to any seller's account
            partner = Partner("", "")
        token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._expiry[token] = (time.monotonic() + self._lifetime, partner)
        answer: dict[str, object] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self._lifetime,
        }
        if grant_type == "refresh_token":
            answer["refresh_token"] = form["refresh_token"]
        return answer

    def check(self, token: str | None) -> str | None:
        """None when the token is good, else the 403 details to answer with."""
        return self.holder(token)[0]

    def holder(self, token: str | None) -> tuple[str | None, Partner | None]:
        """(None, the partner the token was granted for) when it is good, else the 403
        details to answer with."""
        if not token:
            return "", None
        with self._lock:
            held = self._expiry.get(token)
        if held is None:
            return INVALID_DETAILS, None
        if time.monotonic() >= held[0]:
            return EXPIRED_DETAILS, None
        return None, held[1]

    def expire(self, token: str) -> None:
        """Make a token expire now: the "token expired early" fault."""
        with self._lock:
            if token in self._expiry:
                self._expiry[token] = (0.0, self._expiry[token][1])
