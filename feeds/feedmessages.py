"""Which message of a stored Order Fulfillment feed carries which order item.

Why: a line that left a feed while Amazon still had it (an operator's forced resend, or a
feed an older shipfeed gave up on) no longer records its MessageID, yet the feed's late
report must still reach it. The feed's stored bytes say it again, and since a feed never
holds two messages for one order item, (AmazonOrderID, AmazonOrderItemCode) names one
message. A message without items confirms the whole order: its key has item None.
"""

from __future__ import annotations

import io

from lxml import etree

MessageKey = tuple[str, str | None]


def message_keys(content: bytes) -> dict[MessageKey, int]:
    """(order id, item id or None) → MessageID, for every message of the feed."""
    out: dict[MessageKey, int] = {}
    for _, msg in etree.iterparse(
        io.BytesIO(content), tag="Message", resolve_entities=False, no_network=True
    ):
        mid = msg.findtext("MessageID")
        order = msg.findtext("OrderFulfillment/AmazonOrderID")
        if mid is None or order is None or not mid.strip().isdigit():
            msg.clear()
            continue
        items = [
            (code or "").strip()
            for code in msg.xpath("OrderFulfillment/Item/AmazonOrderItemCode/text()")
        ]
        for item in items or [None]:
            out[(order.strip(), item or None)] = int(mid)
        msg.clear()
    return out
