"""Each seller's selling-partner account: which refresh token, which region, which client.

The deployment has one LWA application (client id and secret in the secrets). A seller's
``credentials`` name its account's refresh token (``[lwa.NAME]`` in the secrets; none
there: the default ``lwa_refresh_token``, as before accounts existed), and its region
(its own, [spapi]'s, or its marketplace's) picks the SP-API endpoint. Sellers whose
refresh tokens are the same in one region are one account: one client, one token cache,
one set of rate-limit buckets, one createFeed lock.

Every Amazon step runs with its seller's account (``Context.for_seller``), so one
account's refused login stops that account's steps only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydantic import SecretStr

from config.settings import SellerSettings, Settings
from feeds.errors import CredentialsError
from feeds.spapi.accounts import DEFAULT_ACCOUNT, REGION_ENDPOINTS, AccountKey
from feeds.spapi.client import SpApiClient


@dataclass(frozen=True)
class Account:
    """How to reach one account; the refresh token is a SecretStr, never shown."""

    key: AccountKey
    endpoint: str
    token_url: str
    refresh_token: SecretStr
    sellers: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Account({self.key}, endpoint={self.endpoint!r}, sellers={self.sellers})"


def account_key(settings: Settings, seller: SellerSettings, names: dict[str, str]) -> AccountKey:
    """``names``: credentials name -> the account name its refresh token goes by."""
    return AccountKey(names.get(seller.credentials, DEFAULT_ACCOUNT), settings.region_of(seller))


def plan_accounts(
    settings: Settings,
    tokens: Callable[[str], SecretStr | None],
    *,
    endpoint: Callable[[str], str] | None = None,
    token_url: str | None = None,
) -> dict[str, Account]:
    """Each seller's account, by seller name.

    ``tokens(credentials)`` is the refresh token a credentials name logs in with (the
    secrets', or the simulator's); ``endpoint(region)`` the SP-API URL of a region
    (default: the settings' override, else Amazon's). A seller with no refresh token at
    all is refused here, at start, naming the seller and the secret to set.
    """
    where = endpoint or (lambda region: settings.endpoint_for(region) or REGION_ENDPOINTS[region])
    # One account per (region, refresh token): named after the first credentials name
    # (in sorted order) holding that token, "default" for the default token.
    by_token: dict[tuple[str, str], str] = {}
    found: dict[str, tuple[AccountKey, SecretStr]] = {}
    order = sorted(settings.sellers, key=lambda s: (s.credentials != DEFAULT_ACCOUNT, s.name))
    for seller in order:
        token = tokens(seller.credentials)
        if token is None or not token.get_secret_value():
            raise CredentialsError(
                f"seller {seller.name}: no Amazon refresh token for credentials "
                f"'{seller.credentials}'",
                hint=f"add [lwa.{seller.credentials}] refresh_token to the secrets file, or "
                "set SHIPFEED_LWA_REFRESH_TOKEN for every seller without one",
            )
        region = settings.region_of(seller)
        digest = hashlib.sha256(token.get_secret_value().encode()).hexdigest()
        name = by_token.setdefault((region, digest), _account_name(seller.credentials, tokens))
        found[seller.name] = (AccountKey(name, region), token)
    accounts: dict[AccountKey, Account] = {}
    for seller_name, (key, token) in found.items():
        had = accounts.get(key)
        sellers = (*had.sellers, seller_name) if had else (seller_name,)
        accounts[key] = Account(
            key, where(key.region), token_url or settings.spapi.token_url, token, sellers
        )
    return {name: accounts[key] for name, (key, _) in found.items()}


def _account_name(credentials: str, tokens: Callable[[str], SecretStr | None]) -> str:
    """A seller on the default token is on the default account, whatever its credentials
    name (which may name only its SFTP login)."""
    if credentials == DEFAULT_ACCOUNT:
        return DEFAULT_ACCOUNT
    default = tokens(DEFAULT_ACCOUNT)
    own = tokens(credentials)
    same = default is not None and own is not None
    if same and default.get_secret_value() == own.get_secret_value():  # type: ignore[union-attr]
        return DEFAULT_ACCOUNT
    return credentials


class AccountClients:
    """One SP-API client per account, and which seller uses which; closes them all."""

    def __init__(
        self, accounts: dict[str, Account], make: Callable[[Account], SpApiClient]
    ) -> None:
        self._by_seller = {name: a.key for name, a in accounts.items()}
        self.accounts: dict[AccountKey, Account] = {a.key: a for a in accounts.values()}
        self._clients: dict[AccountKey, SpApiClient] = {}
        try:
            for key, account in sorted(self.accounts.items()):
                self._clients[key] = make(account)
        except BaseException:
            self.close()
            raise

    def key_of(self, seller: str) -> AccountKey:
        return self._by_seller[seller]

    def client(self, key: AccountKey) -> SpApiClient:
        return self._clients[key]

    def for_seller(self, seller: str) -> tuple[AccountKey, SpApiClient]:
        key = self._by_seller[seller]
        return key, self._clients[key]

    def __iter__(self) -> Iterator[tuple[AccountKey, SpApiClient]]:
        return iter(sorted(self._clients.items()))

    def __len__(self) -> int:
        return len(self._clients)

    def sellers_of(self, key: AccountKey) -> tuple[str, ...]:
        return self.accounts[key].sellers

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
