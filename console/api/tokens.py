"""REST API tokens: random, per seller, kept in the secrets file only as their SHA-256.

A token is 32 random bytes, so a fast hash cannot be reversed by guessing; comparing the
hashes in constant time keeps the check from telling how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random

from config.settings import ApiSecrets

PREFIX = "sfk_"  # recognisable in a leak scan


def new_token() -> tuple[str, str]:
    """A new token and the hash to put in the secrets file."""
    token = PREFIX + random.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seller_of(api: ApiSecrets, token: str) -> str | None:
    """The seller a presented token acts for, or None for an unknown token."""
    presented = token_hash(token)
    found = None
    for entry in api.tokens.values():  # every entry compared: the time says nothing
        if hmac.compare_digest(presented, entry.token_sha256.get_secret_value().lower()):
            found = entry.seller
    return found
