"""Amazon's carrier code list, seller spellings, and the check-digit algorithms."""

from __future__ import annotations

import pytest
from amazon_spec import official
from lxml import etree

from feeds.carriers import (
    ALIASES,
    CARRIER_CODES,
    TRACKING_CHECKS,
    carrier_from_tracking,
    carrier_key,
    resolve_carrier,
    s10_check_digit_ok,
    ups_check_digit_ok,
)


def xsd_carrier_codes() -> list[str]:
    """Amazon's CarrierCode enumeration in document order, each value once (Fastway is listed
    twice in the schema)."""
    base = etree.parse(str(official("xsd/amzn-base.xsd")))
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    values = [
        str(enum.get("value"))
        for element in base.iter(f"{xsd}element")
        if element.get("name") == "CarrierCode"
        for enum in element.iter(f"{xsd}enumeration")
    ]
    assert values, "CarrierCode enumeration not found in amzn-base.xsd"
    return list(dict.fromkeys(values))


def test_carrier_codes_are_the_published_list_in_order() -> None:
    assert list(CARRIER_CODES) == xsd_carrier_codes()


def test_every_carrier_code_is_in_the_schema_enumeration() -> None:
    assert set(CARRIER_CODES) <= set(xsd_carrier_codes())


def test_every_alias_maps_to_a_code_in_the_schema_enumeration() -> None:
    assert set(ALIASES.values()) <= set(xsd_carrier_codes())


def test_every_carrier_with_a_tracking_check_is_a_real_code() -> None:
    assert set(TRACKING_CHECKS) <= set(CARRIER_CODES)


@pytest.mark.parametrize("code", CARRIER_CODES)
def test_each_code_resolves_to_itself_whatever_the_case(code: str) -> None:
    assert (
        resolve_carrier(code)
        == resolve_carrier(code.upper())
        == resolve_carrier(code.lower())
        == code
    )


def test_carrier_key_ignores_case_spaces_dots_dashes_and_underscores() -> None:
    assert carrier_key("Fed-Ex") == carrier_key(" fed.ex ") == carrier_key("FED_EX") == "fedex"


@pytest.mark.parametrize("text", ["", "   ", "Speedy Parcels", "..."])
def test_unknown_or_empty_carrier_resolves_to_none(text: str) -> None:
    assert resolve_carrier(text) is None


@pytest.mark.parametrize(
    "tracking", ["1Z999AA10123456784", "1Z879E930346834440", "1Z2203480342495730"]
)
def test_ups_check_digit_accepts_real_numbers(tracking: str) -> None:
    assert ups_check_digit_ok(tracking)


@pytest.mark.parametrize("good", ["1Z999AA10123456784", "1Z879E930346834440", "1Z2203480342495730"])
def test_ups_check_digit_rejects_every_other_last_digit(good: str) -> None:
    others = [good[:-1] + d for d in "0123456789" if d != good[-1]]
    assert not any(ups_check_digit_ok(t) for t in others)


def test_ups_check_digit_rejects_wrong_length() -> None:
    assert not ups_check_digit_ok("1Z999AA1012345678")


@pytest.mark.parametrize("tracking", ["RB123456785GB", "EE123456785US", "RR473124829GB"])
def test_s10_check_digit_accepts_real_numbers(tracking: str) -> None:
    assert s10_check_digit_ok(tracking)


def test_s10_check_digit_rejects_every_other_ninth_digit() -> None:
    assert [d for d in "0123456789" if s10_check_digit_ok(f"RB12345678{d}GB")] == ["5"]


def test_s10_country_must_match_when_asked() -> None:
    assert s10_check_digit_ok("RB123456785GB", "GB")
    assert not s10_check_digit_ok("RB123456785GB", "US")


@pytest.mark.parametrize(
    "tracking,carrier",
    [
        ("1Z999AA10123456784", "UPS"),
        ("TBA123456789012", "Amazon Shipping"),
        ("EE123456785US", "USPS"),
        ("1Z999AA10123456785", None),
        ("123456789012", None),
    ],
)
def test_carrier_is_inferred_only_from_unmistakable_tracking(
    tracking: str, carrier: str | None
) -> None:
    assert carrier_from_tracking(tracking) == carrier
