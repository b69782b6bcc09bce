"""What the order's state on Amazon says about a line that may have been applied (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feeds.spapi.orders import Order, OrderItem
from processors.verify import Verdict, verdict

ITEM = "10000000000001"


def _order(status: str) -> Order:
    return Order("111-0000001-0000001", status, None, None, datetime.now(UTC), raw={})


def _item(ordered: int, shipped: int) -> OrderItem:
    return OrderItem(ITEM, ordered, shipped, None)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Shipped", Verdict.SHIPPED),
        ("Unshipped", Verdict.NOT_SHIPPED),
        ("Canceled", Verdict.NOT_SHIPPED),
        ("Pending", Verdict.NOT_SHIPPED),
    ],
)
def test_order_status_decides_a_line_without_looking_at_items(
    status: str, expected: Verdict
) -> None:
    assert verdict(_order(status), None, ITEM) == expected


def test_order_amazon_does_not_know_was_not_shipped() -> None:
    assert verdict(None, None, ITEM) == Verdict.NOT_SHIPPED


def test_partly_shipped_order_is_decided_by_the_lines_item() -> None:
    partly = _order("PartiallyShipped")
    assert verdict(partly, [_item(1, 1)], ITEM) == Verdict.SHIPPED
    assert verdict(partly, [_item(1, 0)], ITEM) == Verdict.NOT_SHIPPED
    assert verdict(partly, [_item(3, 1)], ITEM) == Verdict.UNSURE


def test_partly_shipped_order_without_its_items_waits() -> None:
    assert verdict(_order("PartiallyShipped"), None, ITEM) == Verdict.UNKNOWN


def test_partly_shipped_order_for_a_whole_order_line_needs_a_person() -> None:
    assert verdict(_order("PartiallyShipped"), [_item(1, 1)], None) == Verdict.UNSURE
