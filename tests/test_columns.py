"""Header aliases and the seller's own column map."""

from __future__ import annotations

import pytest

from feeds.errors import ConfigError, FileRejected
from feeds.model import FIELDS
from ingest.columns import map_headers, require_columns

AMAZON = [
    "order-id",
    "order-item-id",
    "quantity",
    "ship-date",
    "carrier-code",
    "carrier-name",
    "tracking-number",
    "ship-method",
]


def test_amazon_flat_file_headers_map_to_every_field() -> None:
    columns, unknown = map_headers(AMAZON)
    assert columns == dict(zip(FIELDS, AMAZON, strict=True))
    assert unknown == []


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Order ID", "order_id"),
        ("Amazon Order #", "order_id"),
        ("Amazon Order Number", "order_id"),
        ("ORDER_NUMBER", "order_id"),
        ("order no.", "order_id"),
        ("Order Item ID", "order_item_id"),
        ("Qty", "quantity"),
        ("Quantity Shipped", "quantity"),
        ("Tracking Number", "tracking_number"),
        ("Tracking #", "tracking_number"),
        ("tracking", "tracking_number"),
        ("Carrier", "carrier_code"),
        ("Shipping Carrier", "carrier_code"),
        ("Carrier Name", "carrier_name"),
        ("Ship Date", "ship_date"),
        ("Shipped Date", "ship_date"),
        ("date_shipped", "ship_date"),
        ("Shipping Service", "ship_method"),
        ("Ship Method", "ship_method"),
        ("Shipping Method", "ship_method"),
        ("Service", "ship_method"),
    ],
)
def test_friendly_header_alias_maps_to_its_field(header: str, field: str) -> None:
    columns, _ = map_headers([header])
    assert columns[field] == header


def test_headers_no_field_claims_are_listed_as_unknown_in_file_order() -> None:
    _, unknown = map_headers(["Notes", "Order ID", "SKU", ""])
    assert unknown == ["Notes", "SKU"]


def test_seller_map_is_applied_before_aliases() -> None:
    columns, unknown = map_headers(["Ref", "Order ID"], {"Ref": "order_id"})
    assert columns["order_id"] == "Ref"
    assert unknown == ["Order ID"]


def test_seller_map_matches_header_spelling_loosely() -> None:
    columns, _ = map_headers(["SHIP-REF"], {"ship ref": "tracking_number"})
    assert columns["tracking_number"] == "SHIP-REF"


def test_seller_map_to_an_unknown_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="order_number"):
        map_headers(["Ref"], {"Ref": "order_number"})


def test_two_headers_for_one_field_name_both() -> None:
    with pytest.raises(FileRejected) as caught:
        map_headers(["Order ID", "Amazon Order #"], file="x.csv")
    assert "'Order ID'" in str(caught.value)
    assert "'Amazon Order #'" in str(caught.value)


def test_missing_required_column_names_field_and_found_headers() -> None:
    headers = ["Order ID", "Tracking"]
    columns, _ = map_headers(headers)
    with pytest.raises(FileRejected) as caught:
        require_columns(columns, headers, "x.csv")
    assert "ship date" in str(caught.value)
    assert "'Order ID', 'Tracking'" in str(caught.value)
