"""Amazon's carrier codes, the names sellers type for them, and tracking-number formats.

Amazon accepts a shipment's carrier either as one of a fixed list of ``CarrierCode`` values
or as free text (``CarrierName``). Sellers type carriers in many spellings, so we map the
common ones onto the code Amazon expects; anything else travels as a name rather than
failing the line. Tracking numbers are checked against each carrier's published shapes
because Amazon rejects (or flags) a tracking id that does not fit the carrier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

#: Amazon's ``CarrierCode`` values, as the Order Fulfillment schema (release 4.1) lists them.
#: Written out here so the product never reads schema files at run time.
CARRIER_CODES: tuple[str, ...] = (
    "USPS",
    "UPS",
    "UPSMI",
    "FedEx",
    "DHL",
    "Fastway",
    "GLS",
    "GO!",
    "Hermes Logistik Gruppe",
    "Royal Mail",
    "Parcelforce",
    "City Link",
    "TNT",
    "Target",
    "SagawaExpress",
    "NipponExpress",
    "YamatoTransport",
    "DHL Global Mail",
    "UPS Mail Innovations",
    "FedEx SmartPost",
    "OSM",
    "OnTrac",
    "Streamlite",
    "Newgistics",
    "Canada Post",
    "Blue Package",
    "Chronopost",
    "Deutsche Post",
    "DPD",
    "La Poste",
    "Parcelnet",
    "Poste Italiane",
    "SDA",
    "Smartmail",
    "FEDEX_JP",
    "JP_EXPRESS",
    "NITTSU",
    "SAGAWA",
    "YAMATO",
    "BlueDart",
    "AFL/Fedex",
    "Aramex",
    "India Post",
    "Professional",
    "DTDC",
    "Overnite Express",
    "First Flight",
    "Delhivery",
    "Lasership",
    "Yodel",
    "Other",
    "Amazon Shipping",
    "Seur",
    "Correos",
    "MRW",
    "Endopack",
    "Chrono Express",
    "Nacex",
    "Otro",
    "Correios",
    "Toll Global Express",
    "China Post",
    "AUSSIE_POST",
    "EUB",
    "Australia Post",
    "Yun Express",
    "4PX",
    "YANWEN",
    "SF Express",
)
CARRIER_CODE_SET: frozenset[str] = frozenset(CARRIER_CODES)

#: Codes that mean "a carrier not on the list": Amazon then needs the carrier's name.
OTHER_CODES: frozenset[str] = frozenset({"Other", "Otro"})

#: Spellings sellers use, keyed by :func:`carrier_key`, mapped to Amazon's code.
#: No official alias table exists; these follow what sellers and carriers call themselves.
ALIASES: dict[str, str] = {
    "fedex": "FedEx",
    "fdx": "FedEx",
    "federalexpress": "FedEx",
    "fedexground": "FedEx",
    "fedexexpress": "FedEx",
    "fedexsmartpost": "FedEx SmartPost",
    "usps": "USPS",
    "postalservice": "USPS",
    "uspostalservice": "USPS",
    "unitedstatespostalservice": "USPS",
    "ups": "UPS",
    "unitedparcelservice": "UPS",
    "upsmailinnovations": "UPS Mail Innovations",
    "royalmail": "Royal Mail",
    "rm": "Royal Mail",
    "parcelforce": "Parcelforce",
    "parcelforceworldwide": "Parcelforce",
    "dhl": "DHL",
    "dhlexpress": "DHL",
    "dhlecommerce": "DHL Global Mail",
    "dhlglobalmail": "DHL Global Mail",
    "lasership": "Lasership",
    "amazon": "Amazon Shipping",
    "tba": "Amazon Shipping",
    "amazonlogistics": "Amazon Shipping",
    "amzl": "Amazon Shipping",
    "amazonshipping": "Amazon Shipping",
    "hermes": "Hermes Logistik Gruppe",
    "hermesgermany": "Hermes Logistik Gruppe",
    "ontrac": "OnTrac",
    "canadapost": "Canada Post",
    "postescanada": "Canada Post",
    "deutschepost": "Deutsche Post",
    "australiapost": "Australia Post",
    "auspost": "Australia Post",
    "chinapost": "China Post",
    "yunexpress": "Yun Express",
    "sfexpress": "SF Express",
    "laposte": "La Poste",
    "posteitaliane": "Poste Italiane",
    "indiapost": "India Post",
    "other": "Other",
}

_KEY_DROP = re.compile(r"[\s.\-_]+")


def carrier_key(text: str) -> str:
    """Fold a typed carrier so "Fed Ex", "FED-EX" and "fed.ex" compare equal."""
    return _KEY_DROP.sub("", text).casefold()


_LOOKUP: dict[str, str] = {carrier_key(code): code for code in CARRIER_CODES}
_LOOKUP.update(ALIASES)


@lru_cache(maxsize=4096)
def resolve_carrier(text: str) -> str | None:
    """Amazon's CarrierCode for what a seller typed, or None when it is not a known carrier."""
    key = carrier_key(text)
    return _LOOKUP.get(key) if key else None


# --- tracking numbers ------------------------------------------------------------------

_UPS_1Z = re.compile(r"1Z[0-9A-Z]{16}")
_UPS_MI = re.compile(r"T\d{10}|MI\d{6}[0-9A-Z]{1,22}")
_USPS_IMPB = re.compile(r"(?:420\d{5}(?:\d{4})?)?9[1-5]\d{18,20}")
_USPS_LEGACY = re.compile(r"(?:70|23|03)\d{18}|82\d{8}")
_S10 = re.compile(r"[A-Z]{2}(\d{8})(\d)([A-Z]{2})")
_FEDEX = re.compile(r"\d{12}|\d{15}|\d{20}|\d{22}")
_DHL = re.compile(r"\d{10}|JD\d{16,20}")
_DHL_GLOBAL_MAIL = re.compile(r"GM\d{16,20}|JD\d{16,20}|(?:420\d{5})?9[1-5]\d{18,20}|\d{10,22}")
_ONTRAC = re.compile(r"[CD]\d{14}")  # D-prefix seen in newer OnTrac labels, unconfirmed
_AMAZON = re.compile(r"TBA\d{12}")

_UPS_VALUES = str.maketrans(
    {chr(c): str((c - ord("A") + 2) % 10) for c in range(ord("A"), ord("Z") + 1)}
)


def ups_check_digit_ok(tracking: str) -> bool:
    """UPS 1Z check: positions 3-17 as digits (letters folded), odd + 2*even, mod 10."""
    if len(tracking) != 18 or not tracking[17].isdigit():
        return False
    body = tracking[2:17].translate(_UPS_VALUES).encode("ascii")
    # bytes are code points: subtract ord("0") for each of the 8 odd and 7 even positions
    odd = sum(body[0::2]) - 8 * 48
    even = sum(body[1::2]) - 7 * 48
    return (10 - (odd + 2 * even) % 10) % 10 == int(tracking[17])


_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit_ok(tracking: str, country: str | None = None) -> bool:
    """UPU S10 (AA123456789CC): weighted digits mod 11 give the ninth digit."""
    m = _S10.fullmatch(tracking)
    if m is None or (country is not None and m.group(3) != country):
        return False
    d = m.group(1).encode("ascii")
    total = (
        d[0] * 8 + d[1] * 6 + d[2] * 4 + d[3] * 2 + d[4] * 3 + d[5] * 5 + d[6] * 9 + d[7] * 7
    ) - 48 * sum(_S10_WEIGHTS)
    check = 11 - total % 11
    check = 0 if check == 10 else 5 if check == 11 else check
    return check == int(m.group(2))


def _ups(t: str) -> bool:
    if _UPS_1Z.fullmatch(t):
        return ups_check_digit_ok(t)
    return _UPS_MI.fullmatch(t) is not None


def _ups_mi(t: str) -> bool:
    return _UPS_MI.fullmatch(t) is not None or _USPS_IMPB.fullmatch(t) is not None


def _usps(t: str) -> bool:
    if _USPS_IMPB.fullmatch(t) or _USPS_LEGACY.fullmatch(t):
        return True
    return t.endswith("US") and s10_check_digit_ok(t, "US")


def _royal_mail(t: str) -> bool:
    return s10_check_digit_ok(t, "GB")


def _matcher(rx: re.Pattern[str]) -> Callable[[str], object]:
    return rx.fullmatch


#: Carriers whose tracking-number shapes we know, as truthy-when-it-fits checks.
#: Carriers not listed are not checked at all.
TRACKING_CHECKS: dict[str, Callable[[str], object]] = {
    "UPS": _ups,
    "UPSMI": _ups_mi,
    "UPS Mail Innovations": _ups_mi,
    "USPS": _usps,
    "FedEx": _matcher(_FEDEX),
    "FedEx SmartPost": _matcher(_FEDEX),
    "DHL": _matcher(_DHL),
    "DHL Global Mail": _matcher(_DHL_GLOBAL_MAIL),
    "Royal Mail": _royal_mail,
    "OnTrac": _matcher(_ONTRAC),
    "Amazon Shipping": _matcher(_AMAZON),
}

_FORMAT_HINTS: dict[str, str] = {
    "UPS": "1Z followed by 16 letters or digits with a valid check digit",
    "UPSMI": "a UPS Mail Innovations number (T + 10 digits) or a USPS-style number",
    "UPS Mail Innovations": "a UPS Mail Innovations number (T + 10 digits) or a USPS-style number",
    "USPS": "20 to 22 digits starting 91-95 (optionally 420 + ZIP first), "
    "or an international number like AA123456785US",
    "FedEx": "12, 15, 20 or 22 digits",
    "FedEx SmartPost": "12, 15, 20 or 22 digits",
    "DHL": "10 digits (or JD + digits)",
    "DHL Global Mail": "GM or JD + digits, or a USPS-style number",
    "Royal Mail": "2 letters, 9 digits and GB, like RB123456785GB",
    "OnTrac": "C + 14 digits",
    "Amazon Shipping": "TBA + 12 digits",
}


def tracking_fits(carrier_code: str, tracking: str) -> bool | None:
    """Whether a normalised tracking number fits the carrier: None when we cannot tell."""
    check = TRACKING_CHECKS.get(carrier_code)
    return None if check is None else bool(check(tracking))


def tracking_format_hint(carrier_code: str) -> str:
    """How the carrier's tracking numbers look, for a seller-facing message."""
    return _FORMAT_HINTS.get(carrier_code, "the carrier's format")


def carrier_from_tracking(tracking: str) -> str | None:
    """The carrier a tracking number unmistakably belongs to, or None when it could be several."""
    if _UPS_1Z.fullmatch(tracking) and ups_check_digit_ok(tracking):
        return "UPS"
    if _AMAZON.fullmatch(tracking):
        return "Amazon Shipping"
    if tracking.endswith("US") and s10_check_digit_ok(tracking, "US"):
        return "USPS"
    return None
