"""Which column of a seller's file holds which field.

Sellers rarely use Amazon's flat-file headers: they export "Order #", "Tracking", "Qty"
from whatever system they have. Matching is forgiving about spelling (case, spaces,
dashes, underscores, dots, '#' versus 'number', 'no') so that a header a person would
read as "order id" is taken as one, and strict about ambiguity (two columns for one
field is an error, never a silent pick).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from feeds.errors import ConfigError, FileRejected
from feeds.excerpt import excerpt
from feeds.model import FIELDS, REQUIRED_FIELDS

_PUNCT = re.compile(r"[\s\-_.:/()\[\]'\"]+")

# Spelt loosely; normalised once below. Amazon's flat-file names come first in each list.
_ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order-id",
        "amazon-order-id",
        "Order ID",
        "Amazon Order ID",
        "Amazon Order #",
        "Amazon Order Number",
        "Amazon Order No",
        "Amazon Order",
        "Order Number",
        "Order #",
        "Order No",
        "Order",
        "AmazonOrderID",
    ),
    "order_item_id": (
        "order-item-id",
        "Order Item ID",
        "Amazon Order Item ID",
        "Order Item Code",
        "Amazon Order Item Code",
        "AmazonOrderItemCode",
        "Order Item #",
        "Order Item Number",
        "Order Item No",
    ),
    "quantity": (
        "quantity",
        "Qty",
        "Quantity Shipped",
        "Qty Shipped",
        "Shipped Quantity",
        "Shipped Qty",
        "Units",
        "Units Shipped",
        "Ship Quantity",
        "Ship Qty",
    ),
    "ship_date": (
        "ship-date",
        "Ship Date",
        "Shipped Date",
        "Date Shipped",
        "Shipping Date",
        "Shipment Date",
        "Fulfillment Date",
        "FulfillmentDate",
        "Ship Date Time",
        "Shipped On",
    ),
    "carrier_code": (
        "carrier-code",
        "Carrier",
        "Shipping Carrier",
        "Carrier Code",
        "CarrierCode",
        "Shipping Carrier Code",
        "Courier",
    ),
    "carrier_name": (
        "carrier-name",
        "Carrier Name",
        "Shipping Carrier Name",
        "CarrierName",
        "Courier Name",
    ),
    "tracking_number": (
        "tracking-number",
        "Tracking Number",
        "Tracking #",
        "Tracking No",
        "Tracking",
        "Tracking ID",
        "Tracking Code",
        "Tracking Num",
        "Shipper Tracking Number",
        "ShipperTrackingNumber",
        "Tracking Reference",
    ),
    "ship_method": (
        "ship-method",
        "Ship Method",
        "Shipping Method",
        "Shipping Service",
        "Ship Service",
        "Service",
        "Shipping Method Name",
        "ShippingMethod",
        "Carrier Service",
        "Mail Class",
    ),
}


def normalise_header(header: str) -> str:
    """The spelling-free key of a header: 'Amazon Order #' and 'amazon_order_number' meet."""
    text = header.strip().lower().replace("\ufeff", "")
    text = text.replace("#", "number").replace("nº", "number").replace("n°", "number")
    text = _PUNCT.sub("", text)
    # "no" as an abbreviation of number only at the end ("Order No", "Tracking No.").
    if text.endswith("no") and len(text) > 2:
        text = text[:-2] + "number"
    if text.endswith("num") and len(text) > 3:
        text = text[:-3] + "number"
    return text


ALIASES: dict[str, str] = {
    normalise_header(alias): field for field, aliases in _ALIASES.items() for alias in aliases
}


def map_headers(
    headers: list[str],
    column_map: Mapping[str, str] | None = None,
    *,
    file: str = "the file",
) -> tuple[dict[str, str | None], list[str]]:
    """Map a file's headers onto canonical fields; return (field -> header, unknown headers).

    The seller's own ``column_map`` (seller header -> field) is applied first, so it can
    claim a header an alias would otherwise take; a header the map names explicitly wins
    over a look-alike found by alias, which is then listed as unknown. Blank headers (the
    empty cells Excel leaves after the last column) are neither mapped nor listed.
    Raises FileRejected when two headers land on the same field, ConfigError when the
    seller's map names a field that does not exist.
    """
    explicit: dict[str, str] = {}
    for seller_header, field in (column_map or {}).items():
        if field not in FIELDS:
            raise ConfigError(
                f"column_map maps '{excerpt(seller_header)}' to '{excerpt(field)}', "
                "which is not a field",
                hint=f"use one of: {', '.join(FIELDS)}",
            )
        explicit[normalise_header(seller_header)] = field

    columns: dict[str, str | None] = dict.fromkeys(FIELDS)
    by_map: set[str] = set()
    unknown: list[str] = []
    pending: list[tuple[str, str]] = []
    for header in headers:
        key = normalise_header(header)
        if not key:
            continue
        if key in explicit:
            field = explicit[key]
            _claim(columns, field, header, file)
            by_map.add(field)
        elif key in ALIASES:
            pending.append((ALIASES[key], header))
        else:
            unknown.append(header)
    for field, header in pending:
        if field in by_map:
            unknown.append(header)
        else:
            _claim(columns, field, header, file)
    # Keep the file's order in the list a seller reads.
    order = {h: i for i, h in enumerate(headers)}
    unknown.sort(key=lambda h: order.get(h, 0))
    return columns, unknown


def _claim(columns: dict[str, str | None], field: str, header: str, file: str) -> None:
    current = columns[field]
    if current is not None:
        raise FileRejected(
            file,
            f"the columns '{excerpt(current)}' and '{excerpt(header)}' both look like "
            f"{_label(field)}",
            hint="rename or delete one of them, or set column_map in the seller's settings",
        )
    columns[field] = header


def missing_required(columns: Mapping[str, str | None]) -> list[str]:
    """Required fields that no header maps to, in FIELDS order."""
    return [f for f in REQUIRED_FIELDS if columns.get(f) is None]


def require_columns(columns: Mapping[str, str | None], headers: list[str], file: str) -> None:
    """Reject the whole file when a required column is absent, saying what was found."""
    missing = missing_required(columns)
    if not missing:
        return
    found = excerpt(", ".join(f"'{h}'" for h in headers if h.strip())) or "no headers at all"
    names = " and ".join(f"'{_label(f)}'" for f in missing)
    raise FileRejected(
        file,
        f"no {names} column; the header row has: {found}",
        hint=f"name the column e.g. '{_ALIASES[missing[0]][1]}' or "
        f"'{_ALIASES[missing[0]][0]}', or map it with column_map",
    )


def _label(field: str) -> str:
    return field.replace("_", " ")
