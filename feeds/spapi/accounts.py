"""Which selling-partner account a call is made for, and where each region's SP-API is.

One deployment has one LWA application (client id and secret) and talks for many
selling-partner accounts: each authorised the application with its own refresh token,
in one region. Tokens, rate limits and feeds belong to an account, never to the whole
deployment, so everything kept per account is keyed by :class:`AccountKey`: the access
token cache, the rate-limit buckets (shared by every worker through the ledger), the lock
around createFeed, and the health of its login. Several shipfeed sellers may share one
account (one Amazon seller fed by several inboxes).
"""

from __future__ import annotations

from dataclasses import dataclass

#: SP-API regions and their endpoints (Amazon's "SP-API endpoints" page).
REGION_ENDPOINTS: dict[str, str] = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
REGIONS = tuple(REGION_ENDPOINTS)

#: Login with Amazon: SP-API applications of every region trade refresh tokens here.
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

#: The account of every seller that names no credentials of its own: the refresh token at
#: the top of the secrets (SHIPFEED_LWA_REFRESH_TOKEN), as before accounts existed.
DEFAULT_ACCOUNT = "default"


@dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """One selling-partner account: the credentials name its refresh token is kept under
    in the secrets, in one region. Not secret: it names the token, never holds it.

    ``str(key)`` (``acme@EU``) is the stable spelling used wherever a key is stored or
    shown: rate-limit rows in the ledger, health components, lock names, log fields.
    """

    name: str
    region: str

    def __str__(self) -> str:
        return f"{self.name}@{self.region}"

    @classmethod
    def parse(cls, text: str) -> AccountKey:
        name, sep, region = text.rpartition("@")
        if not sep or not name or region not in REGIONS:
            raise ValueError(f"not an account key (NAME@REGION): {text!r}")
        return cls(name, region)

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_ACCOUNT
