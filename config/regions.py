"""Amazon's marketplaces by SP-API region, to check a seller's marketplaces at start.

A marketplace is served only by its own region's SP-API endpoint: a seller set up for
region NA with amazon.de would have every call refused, hours later. Amazon's published
marketplace ids ("Marketplace IDs" in the SP-API documentation). Kept in config because
the settings check them and config imports nothing of shipfeed's.
"""

from __future__ import annotations

#: marketplace id -> (region, the marketplace in words).
MARKETPLACES: dict[str, tuple[str, str]] = {
    "ATVPDKIKX0DER": ("NA", "amazon.com"),
    "A2EUQ1WTGCTBG2": ("NA", "amazon.ca"),
    "A1AM78C64UM0Y8": ("NA", "amazon.com.mx"),
    "A2Q3Y263D00KWC": ("NA", "amazon.com.br"),
    "A28R8C7NBKEWEA": ("EU", "amazon.ie"),
    "A1RKKUPIHCS9HS": ("EU", "amazon.es"),
    "A1F83G8C2ARO7P": ("EU", "amazon.co.uk"),
    "A13V1IB3VIYZZH": ("EU", "amazon.fr"),
    "AMEN7PMS3EDWL": ("EU", "amazon.com.be"),
    "A1805IZSGTT6HS": ("EU", "amazon.nl"),
    "A1PA6795UKMFR9": ("EU", "amazon.de"),
    "APJ6JRA9NG5V4": ("EU", "amazon.it"),
    "A2NODRKZP88ZB9": ("EU", "amazon.se"),
    "AE08WJ6YKNBMC": ("EU", "amazon.co.za"),
    "A1C3SOZRARQ6R3": ("EU", "amazon.pl"),
    "ARBP9OOSHTCHU": ("EU", "amazon.eg"),
    "A33AVAJ2PDY3EV": ("EU", "amazon.com.tr"),
    "A17E79C6D8DWNP": ("EU", "amazon.sa"),
    "A2VIGQ35RCS4UG": ("EU", "amazon.ae"),
    "A21TJRUUN4KGV": ("EU", "amazon.in"),
    "A19VAU5U5O7RUS": ("FE", "amazon.sg"),
    "A39IBJ37TRP1C6": ("FE", "amazon.com.au"),
    "A1VC38T7YXB528": ("FE", "amazon.co.jp"),
}


def marketplace_problem(marketplace_id: str, region: str) -> str | None:
    """Why ``marketplace_id`` cannot be used in ``region``, or None when it can."""
    known = MARKETPLACES.get(marketplace_id)
    if known is None:
        return f"unknown marketplace id {marketplace_id!r} (see Amazon's list of marketplace ids)"
    own, words = known
    if own != region:
        return (
            f"{marketplace_id} is {words}, a marketplace of region {own}, "
            f"not of the seller's region {region}"
        )
    return None
