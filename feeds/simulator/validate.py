"""Check an Order Fulfillment feed the way Amazon's envelope schema does, before any order.

Amazon validates the whole document first: one misplaced element anywhere fails the whole
feed with a single document-level error and no message is processed. This module is our
own reading of the envelope/OrderFulfillment schemas' meaning (element order, required
elements, value types, the CarrierCode list), written as small grammar tables, so the
product never needs Amazon's schema files at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

_DATETIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_ORDER_ID = re.compile(r"\w{3}-\w{7}-\w{7}")
_ITEM_CODE = re.compile(r"\d{14}")
_VERSION = re.compile(r"\d{1,2}\.\d{1,2}")
_ID_NUMBER = re.compile(r"\+?\d{1,20}")


class FeedInvalid(Exception):
    """The document fails as a whole; ``code`` is Amazon's ResultMessageCode for it."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass
class FeedItem:
    order_item_id: str | None  # None when only a MerchantOrderItemID was given
    quantity: int | None


@dataclass
class FeedMessage:
    message_id: int
    order_id: str
    amazon_order_id: bool  # False: a MerchantOrderID, which the simulator cannot match
    fulfillment_date: str
    carrier_code: str | None = None
    carrier_name: str | None = None
    shipping_method: str | None = None
    tracking_number: str | None = None
    items: list[FeedItem] = field(default_factory=list)


# -- value checks ----------------------------------------------------------------------


def _is_datetime(text: str) -> bool:
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_positive(text: str) -> bool:
    return bool(_ID_NUMBER.fullmatch(text)) and int(text) > 0


def _string50(text: str) -> bool:
    return len(text) <= 50


def _carrier_codes() -> frozenset[str]:
    # Lazy: carriers.py belongs to another module of feeds/ and is the one list we keep.
    from feeds.carriers import CARRIER_CODE_SET

    return CARRIER_CODE_SET


#: (check, what the value should be) per leaf element.
_LEAVES: dict[str, tuple[Callable[[str], bool], str]] = {
    "DocumentVersion": (lambda t: bool(_VERSION.fullmatch(t)), "a version like 1.01"),
    "MerchantIdentifier": (_string50, "at most 50 characters"),
    "OverrideReleaseId": (lambda t: bool(re.fullmatch(r"\d{1,4}\.\d{1,4}", t)), "n.n"),
    "MessageType": (lambda t: t == "OrderFulfillment", "OrderFulfillment"),
    "MarketplaceName": (lambda t: 0 < len(t) <= 50, "1 to 50 characters"),
    "PurgeAndReplace": (lambda t: t in ("true", "false", "1", "0"), "a boolean"),
    "EffectiveDate": (_is_datetime, "a dateTime"),
    "MessageID": (_is_positive, "a positive integer"),
    "OperationType": (lambda t: t in ("Update", "Delete", "PartialUpdate"), "Update"),
    "AmazonOrderID": (
        lambda t: bool(_ORDER_ID.fullmatch(t)),
        "an order id like 123-1234567-1234567",
    ),
    "MerchantOrderID": (_string50, "at most 50 characters"),
    "MerchantFulfillmentID": (lambda t: 0 < len(t) <= 20, "1 to 20 characters"),
    "FulfillmentDate": (_is_datetime, "a dateTime like 2026-01-31T10:00:00Z"),
    "CarrierCode": (lambda t: t in _carrier_codes(), "one of Amazon's CarrierCode values"),
    "CarrierName": (_string50, "at most 50 characters"),
    "ShippingMethod": (_string50, "at most 50 characters"),
    "ShipperTrackingNumber": (_string50, "at most 50 characters"),
    "CODCollectionMethod": (lambda t: t == "DirectPayment", "DirectPayment"),
    "AmazonOrderItemCode": (lambda t: bool(_ITEM_CODE.fullmatch(t)), "14 digits"),
    "MerchantOrderItemID": (_string50, "at most 50 characters"),
    "MerchantFulfillmentItemID": (_is_positive, "a positive integer"),
    "Quantity": (_is_positive, "a positive integer"),
    "TransparencyCode": (lambda t: True, "text"),
}

#: A complex element's content: (alternative names, min, max) in sequence order.
Particle = tuple[tuple[str, ...], int, int]
_MANY = 1 << 30
_GRAMMAR: dict[str, list[Particle]] = {
    "AmazonEnvelope": [
        (("Header",), 1, 1),
        (("MessageType",), 1, 1),
        (("MarketplaceName",), 0, 1),
        (("PurgeAndReplace",), 0, 1),
        (("EffectiveDate",), 0, 1),
        (("Message",), 1, _MANY),
    ],
    "Header": [
        (("DocumentVersion",), 1, 1),
        (("MerchantIdentifier",), 1, 1),
        (("OverrideReleaseId",), 0, 1),
    ],
    "Message": [
        (("MessageID",), 1, 1),
        (("OperationType",), 0, 1),
        (("OrderFulfillment",), 1, 1),
    ],
    "OrderFulfillment": [
        (("AmazonOrderID", "MerchantOrderID"), 1, 1),
        (("MerchantFulfillmentID",), 0, 1),
        (("FulfillmentDate",), 1, 1),
        (("FulfillmentData",), 0, 1),
        (("CODCollectionMethod",), 0, 1),
        (("Item",), 0, _MANY),
    ],
    "FulfillmentData": [
        (("CarrierCode", "CarrierName"), 1, 1),
        (("ShippingMethod",), 0, 1),
        (("ShipperTrackingNumber",), 0, 1),
    ],
    "Item": [
        (("AmazonOrderItemCode", "MerchantOrderItemID"), 1, 1),
        (("MerchantFulfillmentItemID",), 0, 1),
        (("Quantity",), 0, 1),
        (("TransparencyCode",), 0, 10),
    ],
}


def _envelope_error(elem: etree._Element, what: str) -> FeedInvalid:
    return FeedInvalid(
        50001,
        "The XML you submitted is ill-formed at the Amazon Envelope XML level at (or near) "
        f"line {elem.sourceline}: {what}",
    )


def _check(elem: etree._Element) -> None:
    name = elem.tag if isinstance(elem.tag, str) else ""
    grammar = _GRAMMAR.get(name)
    if grammar is None:
        leaf = _LEAVES[name]
        if len(elem):
            raise _envelope_error(elem, f"<{name}> must hold text only")
        text = (elem.text or "").strip()
        if not leaf[0](text):
            raise _envelope_error(elem, f"<{name}> value {text!r} is not {leaf[1]}")
        return
    if (elem.text or "").strip():
        raise _envelope_error(elem, f"<{name}> must not hold text")
    children = [c for c in elem if isinstance(c.tag, str)]
    pos = 0
    for names, low, high in grammar:
        seen = 0
        while pos < len(children) and children[pos].tag in names and seen < high:
            _check(children[pos])
            pos += 1
            seen += 1
        if seen < low:
            where = children[pos] if pos < len(children) else elem
            raise _envelope_error(
                where, f"<{name}> is missing <{'> or <'.join(names)}> at this point"
            )
    if pos < len(children):
        extra = children[pos]
        raise _envelope_error(extra, f"element <{extra.tag}> is not expected here in <{name}>")


def _text(elem: etree._Element, tag: str) -> str | None:
    found = elem.find(tag)
    return None if found is None else (found.text or "").strip()


def parse_feed(data: bytes) -> list[FeedMessage]:
    """The feed's messages, or FeedInvalid (5001 not XML, 50001 not the envelope schema)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise FeedInvalid(
            5001, f"XML Parsing Fatal Error at Line {line}, Column {column}: {exc.msg}"
        ) from None
    if root.tag != "AmazonEnvelope":
        raise _envelope_error(root, f"root element <{root.tag}> is not <AmazonEnvelope>")
    _check(root)
    messages: list[FeedMessage] = []
    for msg in root.iterfind("Message"):
        ful = msg.find("OrderFulfillment")
        assert ful is not None  # the grammar requires it
        amazon_id = _text(ful, "AmazonOrderID")
        message = FeedMessage(
            message_id=int(_text(msg, "MessageID") or 0),
            order_id=amazon_id if amazon_id is not None else _text(ful, "MerchantOrderID") or "",
            amazon_order_id=amazon_id is not None,
            fulfillment_date=_text(ful, "FulfillmentDate") or "",
        )
        data_elem = ful.find("FulfillmentData")
        if data_elem is not None:
            message.carrier_code = _text(data_elem, "CarrierCode")
            message.carrier_name = _text(data_elem, "CarrierName")
            message.shipping_method = _text(data_elem, "ShippingMethod")
            message.tracking_number = _text(data_elem, "ShipperTrackingNumber")
        for item in ful.iterfind("Item"):
            qty = _text(item, "Quantity")
            message.items.append(
                FeedItem(_text(item, "AmazonOrderItemCode"), int(qty) if qty else None)
            )
        messages.append(message)
    return messages
