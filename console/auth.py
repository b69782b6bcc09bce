"""Console logins: accounts from the secrets file, argon2 password hashes.

An operator sees every seller; a seller account sees only its own seller's data, so
every page asks :class:`Viewer` which seller (if any) it is limited to.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config.settings import ConsoleAccount, Secrets

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password
# and the login's timing does not tell which account names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is logged in; ``seller`` None means an operator (every seller)."""

    name: str
    seller: str | None

    @property
    def is_operator(self) -> bool:
        return self.seller is None

    def may_see(self, seller: str) -> bool:
        return self.seller is None or self.seller == seller


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def viewer_of(name: str, account: ConsoleAccount) -> Viewer:
    return Viewer(name, account.seller if account.role == "seller" else None)


def authenticate(secrets: Secrets, name: str, password: str) -> Viewer | None:
    """The viewer for a right name and password, else None (same cost either way)."""
    account = secrets.console.accounts.get(name)
    stored = account.password_hash.get_secret_value() if account else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return None if account is None else viewer_of(name, account)
