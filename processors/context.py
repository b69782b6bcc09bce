"""What every lifecycle step needs, passed as one value so the service, the CLI and tests
build it once and the steps never reach for globals.

``clock`` is the time the steps judge by (stuck feeds, lookup margins); tests inject a
fake one, and should give the Ledger the same clock so both agree.

``client`` is the SP-API client of ``account``. A service with several selling-partner
accounts (processors/accounts.py) holds them all in ``accounts`` and hands each step the
context of its seller's account (:meth:`Context.for_seller`): ``ctx.account`` is then the
key under which anything per account is kept (rate limits, the createFeed lock, health).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from config.settings import Settings
from feeds.spapi.accounts import DEFAULT_ACCOUNT, AccountKey
from feeds.spapi.client import SpApiClient
from processors.ledger.store import Ledger

if TYPE_CHECKING:
    from processors.accounts import AccountClients


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    ledger: Ledger
    client: SpApiClient
    simulated: bool  # True when talking to the built-in simulator
    clock: Callable[[], datetime] = field(default=_now)
    # Set when the run is stopping (SIGTERM, --timeout): steps start no new feed.
    stop: threading.Event = field(default_factory=threading.Event)
    # The account ``client`` talks for; the default account of the [spapi] region when
    # the context was built with one client (tests, tools).
    account: AccountKey | None = None
    accounts: AccountClients | None = None

    @property
    def account_key(self) -> AccountKey:
        """The selling-partner account this context's Amazon calls are made for."""
        return self.account or AccountKey(DEFAULT_ACCOUNT, self.settings.spapi.region)

    def account_sellers(self) -> tuple[str, ...]:
        """The sellers whose feeds go to this context's account (all of them, with one
        client): what is kept "per account" in the ledger is kept per these sellers."""
        if self.accounts is None or self.account is None:
            return tuple(s.name for s in self.settings.sellers)
        return self.accounts.sellers_of(self.account)

    def for_seller(self, seller: str) -> Context:
        """This context with the client of ``seller``'s account (itself with one client)."""
        if self.accounts is None:
            return self
        key, client = self.accounts.for_seller(seller)
        if key == self.account and client is self.client:
            return self
        return replace(self, client=client, account=key)
