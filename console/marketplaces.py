"""Where an order is seen in Seller Central, by its marketplace id.

Amazon's published marketplace ids and their Seller Central hosts; an id not listed
gets no link rather than a wrong one.
"""

from __future__ import annotations

SELLER_CENTRAL: dict[str, str] = {
    "ATVPDKIKX0DER": "sellercentral.amazon.com",  # US
    "A2EUQ1WTGCTBG2": "sellercentral.amazon.ca",  # CA
    "A1AM78C64UM0Y8": "sellercentral.amazon.com.mx",  # MX
    "A2Q3Y263D00KWC": "sellercentral.amazon.com.br",  # BR
    "A1F83G8C2ARO7P": "sellercentral.amazon.co.uk",  # UK
    "A1PA6795UKMFR9": "sellercentral.amazon.de",  # DE
    "A13V1IB3VIYZZH": "sellercentral.amazon.fr",  # FR
    "APJ6JRA9NG5V4": "sellercentral.amazon.it",  # IT
    "A1RKKUPIHCS9HS": "sellercentral.amazon.es",  # ES
    "A1805IZSGTT6HS": "sellercentral.amazon.nl",  # NL
    "A2NODRKZP88ZB9": "sellercentral.amazon.se",  # SE
    "A1C3SOZRARQ6R3": "sellercentral.amazon.pl",  # PL
    "AMEN7PMS3EDWL": "sellercentral.amazon.com.be",  # BE
    "A33AVAJ2PDY3EV": "sellercentral.amazon.com.tr",  # TR
    "A2VIGQ35RCS4UG": "sellercentral.amazon.ae",  # AE
    "A17E79C6D8DWNP": "sellercentral.amazon.sa",  # SA
    "ARBP9OOSHTCHU": "sellercentral.amazon.eg",  # EG
    "A21TJRUUN4KGV": "sellercentral.amazon.in",  # IN
    "A1VC38T7YXB528": "sellercentral.amazon.co.jp",  # JP
    "A39IBJ37TRP1C6": "sellercentral.amazon.com.au",  # AU
    "A19VAU5U5O7RUS": "sellercentral.amazon.sg",  # SG
}


def order_url(marketplace_id: str, order_id: str) -> str | None:
    host = SELLER_CENTRAL.get(marketplace_id)
    return None if host is None else f"https://{host}/orders-v3/order/{order_id}"
