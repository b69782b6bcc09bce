"""Carrier, tracking number and ship method rules of a line."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.model import FIELDS, LineWarning, RowChunk, Shipment
from feeds.rules import ChunkResult, RuleContext, validate_chunk

CTX = RuleContext(now=datetime(2026, 11, 20, 18, 0, tzinfo=UTC), timezone=ZoneInfo("Europe/London"))
STRICT = RuleContext(now=CTX.now, timezone=CTX.timezone, strict_tracking=True)
HEADERS: dict[str, str | None] = {
    "order_id": "order-id",
    "order_item_id": "order-item-id",
    "quantity": "quantity",
    "ship_date": "ship-date",
    "carrier_code": "carrier-code",
    "carrier_name": "carrier-name",
    "tracking_number": "tracking-number",
    "ship_method": "ship-method",
}


def run(ctx: RuleContext = CTX, /, **cells: str) -> ChunkResult:
    row = {"order_id": "112-1234567-1234567", "ship_date": "2026-11-19", **cells}
    chunk = RowChunk(lines=[4], cells={f: [row.get(f, "")] for f in FIELDS}, columns=HEADERS)
    return validate_chunk(chunk, ctx)


def one(ctx: RuleContext = CTX, **cells: str) -> tuple[Shipment, list[LineWarning]]:
    r = run(ctx, **cells)
    assert r.errors == [], r.errors
    (s,) = r.shipments
    return s, r.warnings


@pytest.mark.parametrize(
    "typed,code",
    [
        ("Fedex", "FedEx"),
        ("FEDEX", "FedEx"),
        ("Fed Ex", "FedEx"),
        ("FDX", "FedEx"),
        ("U.S.P.S.", "USPS"),
        ("usps", "USPS"),
        ("Postal Service", "USPS"),
        ("ups", "UPS"),
        ("U.P.S.", "UPS"),
        ("Royal Mail", "Royal Mail"),
        ("RoyalMail", "Royal Mail"),
        ("RM", "Royal Mail"),
        ("DHL eCommerce", "DHL Global Mail"),
        ("DHL Global Mail", "DHL Global Mail"),
        ("DHLGLOBALMAIL", "DHL Global Mail"),
        ("LaserShip", "Lasership"),
        ("Lasership", "Lasership"),
        ("Amazon", "Amazon Shipping"),
        ("TBA", "Amazon Shipping"),
        ("Amazon Logistics", "Amazon Shipping"),
        ("Hermes", "Hermes Logistik Gruppe"),
        ("canada post", "Canada Post"),
        ("go!", "GO!"),
    ],
)
def test_carrier_spellings_map_to_amazon_codes(typed: str, code: str) -> None:
    s, warnings = one(carrier_code=typed)
    assert (s.carrier_code, s.carrier_name) == (code, None)
    assert warnings == []


def test_unknown_carrier_is_sent_as_carrier_name_with_a_warning() -> None:
    s, (w,) = one(carrier_code="Speedy Parcels Ltd")
    assert (s.carrier_code, s.carrier_name) == (None, "Speedy Parcels Ltd")
    assert (w.column, w.value) == ("carrier-code", "Speedy Parcels Ltd")
    assert "carrier name" in w.reason


def test_unknown_carrier_code_uses_the_carrier_name_column_when_given() -> None:
    s, (w,) = one(carrier_code="EVR", carrier_name="Evri")
    assert (s.carrier_code, s.carrier_name) == (None, "Evri")
    assert w.column == "carrier-code"


@pytest.mark.parametrize("code", ["Other", "other", "Otro"])
def test_other_carrier_without_name_is_rejected(code: str) -> None:
    r = run(carrier_code=code)
    assert r.shipments == []
    (e,) = r.errors
    assert e.column == "carrier-name" and "name" in e.reason


def test_other_carrier_with_name_is_sent_as_carrier_name() -> None:
    s, warnings = one(carrier_code="Other", carrier_name="Yun Express Europe")
    assert (s.carrier_code, s.carrier_name) == (None, "Yun Express Europe")
    assert warnings == []


def test_carrier_name_alone_of_a_known_carrier_becomes_its_code() -> None:
    s, _ = one(carrier_name="fed ex")
    assert (s.carrier_code, s.carrier_name) == ("FedEx", None)


def test_carrier_name_alone_of_an_unknown_carrier_is_sent_as_name_without_warning() -> None:
    s, warnings = one(carrier_name="  Speedy   Parcels ")
    assert (s.carrier_code, s.carrier_name) == (None, "Speedy Parcels")
    assert warnings == []


def test_known_carrier_code_wins_over_a_carrier_name() -> None:
    s, _ = one(carrier_code="UPS", carrier_name="United Parcel Service Inc")
    assert (s.carrier_code, s.carrier_name) == ("UPS", None)


def test_carrier_name_longer_than_amazon_takes_is_rejected() -> None:
    (e,) = run(carrier_name="X" * 51).errors
    assert e.column == "carrier-name" and "50" in e.reason


def test_line_without_carrier_or_tracking_has_no_carrier() -> None:
    s, warnings = one()
    assert (s.carrier_code, s.carrier_name, s.tracking_number) == (None, None, None)
    assert warnings == []


def test_tracking_number_loses_spaces_and_dashes_and_is_upper_cased() -> None:
    s, warnings = one(carrier_code="UPS", tracking_number=" 1z 999-aa1 0123456784 ")
    assert s.tracking_number == "1Z999AA10123456784"
    assert warnings == []


VALID = [
    ("UPS", "1Z999AA10123456784"),
    ("UPS", "1Z879E930346834440"),
    ("UPS", "T1234567890"),
    ("UPS Mail Innovations", "T1234567890"),
    ("USPS", "9400111899223100000000"),
    ("USPS", "9205590175547700000000"),
    ("USPS", "420902109400111899223100000000"),
    ("USPS", "EA123456785US"),
    ("FedEx", "123456789012"),
    ("FedEx", "123456789012345"),
    ("FedEx", "61299998765432109876"),
    ("FedEx", "9611020987654312345672"),
    ("DHL", "1234567890"),
    ("Royal Mail", "RB123456785GB"),
    ("OnTrac", "C12345678901234"),
    ("Amazon Shipping", "TBA123456789012"),
]


@pytest.mark.parametrize("carrier,tracking", VALID)
def test_tracking_in_the_carriers_format_is_accepted_silently(carrier: str, tracking: str) -> None:
    s, warnings = one(ctx=STRICT, carrier_code=carrier, tracking_number=tracking)
    assert (s.carrier_code, s.tracking_number) == (carrier, tracking)
    assert warnings == []


MISMATCHES = [
    ("UPS", "1Z999AA10123456785"),
    ("UPS", "123456789012"),
    ("USPS", "1Z999AA10123456784"),
    ("USPS", "EA123456786US"),
    ("USPS", "9612345678901234567890"),
    ("FedEx", "12345678901"),
    ("DHL", "123456789"),
    ("Royal Mail", "RB123456786GB"),
    ("Royal Mail", "RB123456785US"),
    ("OnTrac", "C1234"),
    ("Amazon Shipping", "TBA12345"),
]


@pytest.mark.parametrize("carrier,tracking", MISMATCHES)
def test_tracking_not_in_the_carriers_format_warns_and_is_still_sent(
    carrier: str, tracking: str
) -> None:
    s, (w,) = one(carrier_code=carrier, tracking_number=tracking)
    assert s.tracking_number == tracking
    assert (w.column, w.value) == ("tracking-number", tracking)
    assert carrier in w.reason


def test_ups_tracking_with_bad_check_digit_warns() -> None:
    _, (w,) = one(carrier_code="UPS", tracking_number="1Z999AA10123456785")
    assert "check digit" in w.reason


@pytest.mark.parametrize("carrier,tracking", MISMATCHES)
def test_strict_mode_makes_tracking_mismatch_an_error(carrier: str, tracking: str) -> None:
    r = run(STRICT, carrier_code=carrier, tracking_number=tracking)
    assert r.shipments == []
    (e,) = r.errors
    assert (e.column, e.value) == ("tracking-number", tracking)


def test_carrier_without_known_format_accepts_any_tracking_number() -> None:
    s, warnings = one(ctx=STRICT, carrier_code="Yodel", tracking_number="JJD0002233445566")
    assert s.tracking_number == "JJD0002233445566" and warnings == []


def test_unknown_carrier_tracking_is_not_format_checked() -> None:
    s, warnings = one(ctx=STRICT, carrier_name="Speedy", tracking_number="SP-1")
    assert s.tracking_number == "SP1" and warnings == []


@pytest.mark.parametrize("tracking", ["1Z999/AA1", "1Z<b>", "ÄBC123", "1Z999&AA"])
def test_tracking_with_characters_other_than_letters_and_digits_is_rejected(tracking: str) -> None:
    (e,) = run(carrier_code="UPS", tracking_number=tracking).errors
    assert (e.column, e.value) == ("tracking-number", tracking)


def test_tracking_longer_than_amazon_takes_is_rejected() -> None:
    (e,) = run(carrier_name="Speedy", tracking_number="A" * 51).errors
    assert "50" in e.reason


def test_tracking_without_carrier_takes_the_carrier_its_format_proves_with_a_warning() -> None:
    s, (w,) = one(tracking_number="1Z999AA10123456784")
    assert s.carrier_code == "UPS"
    assert w.column == "carrier-code" and "UPS" in w.reason


def test_tracking_without_carrier_and_of_no_certain_format_is_rejected() -> None:
    (e,) = run(tracking_number="123456789012").errors
    assert e.column == "carrier-code" and "carrier" in e.reason


def test_method_without_tracking_is_dropped_with_warning() -> None:
    s, (w,) = one(carrier_code="UPS", ship_method="Ground")
    assert s.ship_method is None
    assert (w.column, w.value) == ("ship-method", "Ground")


def test_method_with_tracking_is_kept() -> None:
    s, warnings = one(
        carrier_code="UPS", tracking_number="1Z999AA10123456784", ship_method="Next Day"
    )
    assert s.ship_method == "Next Day" and warnings == []
