"""Which message of a feed shipfeed wrote carries which order item (pure, from the bytes)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from feeds.feedmessages import message_keys
from feeds.model import Item, Package
from feeds.xmlfeed import FeedWriter

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def _feed(*packages: Package) -> bytes:
    buf = io.BytesIO()
    with FeedWriter(
        lambda _i: buf, merchant_id="M", max_messages=100, max_bytes=10**6, close_parts=False
    ) as w:
        for p in packages:
            w.add(p)
    return buf.getvalue()


def _package(order: str, *items: str) -> Package:
    return Package(
        order_id=order,
        carrier_code="UPS",
        carrier_name=None,
        tracking_number="1Z999AA10123456784",
        ship_method=None,
        ship_date=DAY,
        items=tuple(Item(i, 1) for i in items),
        lines=(1,),
    )


def test_each_order_item_names_the_message_that_carries_it() -> None:
    content = _feed(_package("A", "1", "2"), _package("B", "3"))
    assert message_keys(content) == {("A", "1"): 1, ("A", "2"): 1, ("B", "3"): 2}


def test_a_whole_order_message_is_named_by_the_order_alone() -> None:
    assert message_keys(_feed(_package("A"))) == {("A", None): 1}
