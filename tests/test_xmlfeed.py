"""The Order Fulfillment feed writer: schema-valid output, splitting, and XML safety."""

from __future__ import annotations

import io
import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import pytest
from amazon_spec import envelope_schema
from lxml import etree

from feeds.model import FIELDS, Item, Package, RowChunk
from feeds.packages import CompactPackage, PackageGrouper
from feeds.rules import RuleContext, validate_chunk
from feeds.xmlfeed import FeedPart, FeedWriteError, FeedWriter, feed_bytes

DAY = datetime(2026, 11, 19, 15, 30, tzinfo=ZoneInfo("America/New_York"))


def package(n: int = 1, **changes: object) -> Package:
    fields: dict[str, object] = {
        "order_id": f"112-1234567-{n:07d}",
        "ship_date": DAY,
        "carrier_code": "UPS",
        "carrier_name": None,
        "tracking_number": "1Z999AA10123456784",
        "ship_method": "Ground",
        "items": (Item("12345678901234", 2),),
        "lines": (n + 1,),
    }
    fields.update(changes)
    return Package(**fields)  # type: ignore[arg-type]


def valid(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    schema = envelope_schema()
    assert schema.validate(root), schema.error_log
    return root


def texts(root: etree._Element, path: str) -> list[str | None]:
    return [e.text for e in root.iterfind(path)]


class Parts:
    """Real in-memory files per part, kept readable after the writer closes them."""

    def __init__(self) -> None:
        self.files: list[io.BytesIO] = []
        self.data: list[bytes] = []

    def open(self, index: int) -> BinaryIO:
        assert index == len(self.files)
        parts = self

        class Kept(io.BytesIO):
            def close(self) -> None:
                parts.data[index] = self.getvalue()
                super().close()

        f = Kept()
        self.files.append(f)
        self.data.append(b"")
        return f


def test_single_feed_is_schema_valid_and_carries_every_value() -> None:
    root = valid(feed_bytes([package()], merchant_id="A1EXAMPLE"))
    assert texts(root, "Header/MerchantIdentifier") == ["A1EXAMPLE"]
    assert texts(root, "Header/DocumentVersion") == ["1.01"]
    assert texts(root, "MessageType") == ["OrderFulfillment"]
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation") == (
        "amzn-envelope.xsd"
    )
    of = "Message/OrderFulfillment/"
    assert texts(root, "Message/MessageID") == ["1"]
    assert texts(root, of + "AmazonOrderID") == ["112-1234567-0000001"]
    assert texts(root, of + "FulfillmentData/CarrierCode") == ["UPS"]
    assert texts(root, of + "FulfillmentData/ShippingMethod") == ["Ground"]
    assert texts(root, of + "FulfillmentData/ShipperTrackingNumber") == ["1Z999AA10123456784"]
    assert texts(root, of + "Item/AmazonOrderItemCode") == ["12345678901234"]
    assert texts(root, of + "Item/Quantity") == ["2"]


def test_fulfillment_date_is_the_ship_date_with_its_offset() -> None:
    root = valid(feed_bytes([package()], merchant_id="A1"))
    (text,) = texts(root, "Message/OrderFulfillment/FulfillmentDate")
    assert text is not None and text.endswith("-05:00")
    assert datetime.fromisoformat(text) == DAY


def test_the_same_instant_written_with_two_offsets_keeps_each_its_own() -> None:
    # 15:30 New York and 20:30 UTC are equal datetimes; the second message once took the
    # first one's text from the renderer's cache.
    utc = DAY.astimezone(UTC)
    root = valid(feed_bytes([package(1), package(2, ship_date=utc)], merchant_id="A1"))
    dates = texts(root, "Message/OrderFulfillment/FulfillmentDate")
    assert dates == ["2026-11-19T15:30:00-05:00", "2026-11-19T20:30:00+00:00"]


def test_offset_with_seconds_is_written_in_utc_so_the_schema_takes_it() -> None:
    lmt = datetime(1880, 1, 1, 12, 0, tzinfo=ZoneInfo("America/New_York"))  # -04:56:02
    root = valid(feed_bytes([package(ship_date=lmt)], merchant_id="A1"))
    (text,) = texts(root, "Message/OrderFulfillment/FulfillmentDate")
    assert text is not None and datetime.fromisoformat(text) == lmt


def test_ship_date_without_zone_is_refused() -> None:
    with pytest.raises(FeedWriteError):
        feed_bytes([package(ship_date=datetime(2026, 11, 19))], merchant_id="A1")


CARRIERS = [("UPS", None), (None, "Speedy Parcels"), (None, None)]
TRACKING = ["1Z999AA10123456784", None]
METHODS = ["Next Day", None]
ITEMS: list[tuple[Item, ...]] = [
    (),
    (Item("12345678901234", None),),
    (Item("12345678901234", 3),),
    (Item("12345678901234", 1), Item("43210987654321", None)),
]


@pytest.mark.parametrize(
    "carrier,tracking,method,items",
    # a tracking number always comes with a carrier (rules guarantee it, the writer refuses)
    [
        c
        for c in itertools.product(CARRIERS, TRACKING, METHODS, ITEMS)
        if c[0] != (None, None) or not c[1]
    ],
)
def test_every_combination_of_optional_fields_is_schema_valid(
    carrier: tuple[str | None, str | None],
    tracking: str | None,
    method: str | None,
    items: tuple[Item, ...],
) -> None:
    code, name = carrier
    p = package(
        carrier_code=code,
        carrier_name=name,
        tracking_number=tracking,
        ship_method=method,
        items=items,
    )
    root = valid(feed_bytes([p], merchant_id="A1"))
    of = "Message/OrderFulfillment/"
    data = root.find(of + "FulfillmentData")
    assert (data is None) == (code is None and name is None)
    if data is not None:
        assert texts(data, "CarrierCode") == ([code] if code else [])
        assert texts(data, "CarrierName") == ([name] if name else [])
        assert texts(data, "ShipperTrackingNumber") == ([tracking] if tracking else [])
        assert texts(data, "ShippingMethod") == ([method] if method and tracking else [])
    assert texts(root, of + "Item/AmazonOrderItemCode") == [i.order_item_id for i in items]
    assert texts(root, of + "Item/Quantity") == [str(i.quantity) for i in items if i.quantity]


def test_ship_method_is_not_written_without_a_tracking_number() -> None:
    data = feed_bytes([package(tracking_number=None, ship_method="Ground")], merchant_id="A1")
    assert b"ShippingMethod" not in data and b"Ground" not in data


def test_tracking_number_without_any_carrier_is_refused() -> None:
    with pytest.raises(FeedWriteError):
        feed_bytes([package(carrier_code=None)], merchant_id="A1")


def test_carrier_code_outside_amazons_list_is_refused() -> None:
    with pytest.raises(FeedWriteError):
        feed_bytes([package(carrier_code="Speedy")], merchant_id="A1")


HOSTILE = [
    "Fast & Cheap <Post>",
    "]]> <![CDATA[ x ]]>",
    "Quote \" and ' apostrophe",
    "La Poste — Colissimo",
    "ヤマト運輸",
    "Доставка 🚚",
    "&amp; already escaped",
    "tab\there",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_and_non_ascii_text_round_trips_exactly(name: str) -> None:
    p = package(carrier_code=None, carrier_name=name, ship_method=name)
    root = valid(feed_bytes([p], merchant_id="Shop & <Co>"))
    assert texts(root, "Message/OrderFulfillment/FulfillmentData/CarrierName") == [name]
    assert texts(root, "Message/OrderFulfillment/FulfillmentData/ShippingMethod") == [name]
    assert texts(root, "Header/MerchantIdentifier") == ["Shop & <Co>"]


@pytest.mark.parametrize("bad", ["\x00", "\x08", "\x1f", "\ufffe", "\udc80"])
def test_characters_xml_cannot_hold_are_refused_not_written(bad: str) -> None:
    with pytest.raises(FeedWriteError):
        feed_bytes([package(carrier_code=None, carrier_name=f"Post{bad}")], merchant_id="A1")


@pytest.mark.parametrize("bad", ["", " ", "X" * 51])
def test_merchant_id_must_be_one_to_fifty_characters(bad: str) -> None:
    with pytest.raises(FeedWriteError):
        feed_bytes([package()], merchant_id=bad)


def test_empty_feed_is_refused_because_amazon_needs_a_message() -> None:
    with pytest.raises(FeedWriteError):
        feed_bytes([], merchant_id="A1")


def test_split_by_message_count_numbers_messages_from_one_in_each_part() -> None:
    parts = Parts()
    with FeedWriter(parts.open, merchant_id="A1", max_messages=2, max_bytes=10**9) as w:
        placed = [w.add(package(n)) for n in range(1, 6)]
    assert placed == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1)]
    assert [f.closed for f in parts.files] == [True, True, True]
    orders = []
    for data in parts.data:
        root = valid(data)
        assert texts(root, "Message/MessageID") == [
            str(i + 1) for i in range(len(root.findall("Message")))
        ]
        orders += texts(root, "Message/OrderFulfillment/AmazonOrderID")
    assert orders == [f"112-1234567-{n:07d}" for n in range(1, 6)]


def test_close_reports_every_part_with_its_messages_and_exact_size() -> None:
    parts = Parts()
    w = FeedWriter(parts.open, merchant_id="A1", max_messages=3, max_bytes=10**9)
    for n in range(1, 8):
        w.add(package(n))
    result = w.close()
    assert result == [FeedPart(i, m, len(parts.data[i])) for i, m in enumerate([3, 3, 1])]


def test_split_by_bytes_never_exceeds_the_limit_and_loses_nothing() -> None:
    one = len(feed_bytes([package()], merchant_id="A1"))
    limit = one * 3  # header, footer and a handful of messages
    parts = Parts()
    with FeedWriter(parts.open, merchant_id="A1", max_messages=10**6, max_bytes=limit) as w:
        for n in range(1, 41):
            w.add(package(n, items=(Item("12345678901234", 2),) * (1 + n % 3)))
    assert len(parts.data) > 3
    assert all(len(d) <= limit for d in parts.data)
    orders = []
    for data in parts.data:
        root = valid(data)
        orders += texts(root, "Message/OrderFulfillment/AmazonOrderID")
    assert orders == [f"112-1234567-{n:07d}" for n in range(1, 41)]


def test_byte_limit_counts_header_and_closing_tag() -> None:
    exact = len(feed_bytes([package(1), package(2)], merchant_id="A1"))
    parts = Parts()
    with FeedWriter(parts.open, merchant_id="A1", max_messages=100, max_bytes=exact) as w:
        w.add(package(1))
        w.add(package(2))
    assert [len(d) for d in parts.data] == [exact]
    parts = Parts()
    with FeedWriter(parts.open, merchant_id="A1", max_messages=100, max_bytes=exact - 1) as w:
        w.add(package(1))
        w.add(package(2))
    assert len(parts.data) == 2


def test_a_message_larger_than_the_byte_limit_is_refused() -> None:
    limit = len(feed_bytes([package()], merchant_id="A1")) - 1
    with (
        pytest.raises(FeedWriteError),
        FeedWriter(Parts().open, merchant_id="A1", max_messages=10, max_bytes=limit) as w,
    ):
        w.add(package())


def test_parts_are_written_to_real_files(tmp_path: Path) -> None:
    def open_part(i: int) -> BinaryIO:
        return (tmp_path / f"feed-{i}.xml").open("wb")

    with FeedWriter(open_part, merchant_id="A1", max_messages=1, max_bytes=10**6) as w:
        w.add(package(1))
        w.add(package(2))
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["feed-0.xml", "feed-1.xml"]
    for f in files:
        valid(f.read_bytes())


def test_nothing_is_opened_when_nothing_is_added() -> None:
    parts = Parts()
    with FeedWriter(parts.open, merchant_id="A1", max_messages=10, max_bytes=10**6) as w:
        pass
    assert w.close() == [] and parts.files == []


def test_adding_after_close_is_refused() -> None:
    w = FeedWriter(Parts().open, merchant_id="A1", max_messages=10, max_bytes=10**6)
    w.close()
    with pytest.raises(FeedWriteError):
        w.add(package())


def test_many_messages_are_flushed_in_blocks_and_stay_valid() -> None:
    packages = [package(n) for n in range(1, 5001)]
    root = valid(feed_bytes(packages, merchant_id="A1"))
    assert texts(root, "Message/MessageID")[-1] == "5000"


def test_validated_lines_from_a_hostile_file_make_a_valid_feed_or_an_error() -> None:
    values = ["Fast & <Cheap>", "]]>", "Café Express", "Post\x0bOffice", "=cmd()", "Ok Post"]
    n = len(values)
    cells = {f: [""] * n for f in FIELDS}
    cells["order_id"] = [f"112-1234567-{i:07d}" for i in range(n)]
    cells["ship_date"] = ["2026-11-19 10:00"] * n
    cells["carrier_name"] = values
    cells["tracking_number"] = ["ABC123"] * n
    cells["ship_method"] = list(reversed(values))
    chunk = RowChunk(list(range(2, 2 + n)), cells, {f: f for f in FIELDS})
    ctx = RuleContext(now=datetime(2026, 11, 20, tzinfo=UTC), timezone=timezone(timedelta(0)))
    result = validate_chunk(chunk, ctx)
    # lines 3-6 hold "=cmd()" or a vertical tab in the carrier name or the ship method
    assert sorted({e.line for e in result.errors}) == [3, 4, 5, 6]
    assert {e.value for e in result.errors} == {"=cmd()", "Post\x0bOffice"}
    packages = PackageGrouper().add(result.shipments)
    root = valid(feed_bytes(packages, merchant_id="A1"))
    names = texts(root, "Message/OrderFulfillment/FulfillmentData/CarrierName")
    assert names == [s.carrier_name for s in result.shipments]


def _compact(p: Package) -> CompactPackage:
    items = tuple((i.order_item_id, i.quantity) for i in p.items)
    return CompactPackage(
        p.order_id,
        p.carrier_code,
        p.carrier_name,
        p.tracking_number,
        p.ship_method,
        p.ship_date,
        items,
        p.lines,
    )


def test_compact_batches_write_the_same_bytes_parts_and_refusals_as_one_add_per_package() -> None:
    """add_compact_many is convert's fast path; it must be add() under another name."""
    rng = random.Random(11)
    packages: list[Package] = []
    for n in range(3000):
        kind = rng.random()
        if kind < 0.01:
            packages.append(package(n, carrier_code="Pony Express"))  # refused: not a code
        elif kind < 0.02:
            packages.append(package(n, items=(Item("12345678901234", 0),)))  # refused: quantity
        elif kind < 0.025:
            packages.append(package(n, carrier_name="x" * 3000, carrier_code=None))  # too big
        elif kind < 0.2:
            packages.append(package(n, items=(), tracking_number=None, ship_method=None))
        elif kind < 0.3:
            packages.append(package(n, carrier_code=None, carrier_name="Bob & <Sons>"))
        else:
            items = tuple(
                Item(f"{rng.randrange(10**14):014d}", rng.choice((None, 1, 2)))
                for _ in range(rng.randrange(1, 4))
            )
            packages.append(package(n, items=items, ship_method=rng.choice((None, "Ground"))))
    for max_messages, max_bytes in ((10**9, 2**40), (250, 2**40), (10**9, 60_000), (7, 4000)):
        one, many = Parts(), Parts()
        refused_one = []
        w1 = FeedWriter(one.open, merchant_id="M1", max_messages=max_messages, max_bytes=max_bytes)
        with w1:
            for p in packages:
                try:
                    w1.add(p)
                except FeedWriteError as exc:
                    refused_one.append((p.lines, str(exc)))
        w2 = FeedWriter(many.open, merchant_id="M1", max_messages=max_messages, max_bytes=max_bytes)
        with w2:
            failed = []
            for start in range(0, len(packages), 997):
                failed += w2.add_compact_many([_compact(p) for p in packages[start : start + 997]])
        assert [(cp[7], str(exc)) for cp, exc in failed] == refused_one
        assert len(refused_one) > 30
        assert one.data == many.data and len(one.data) >= 1
        assert w1.close() == w2.close()
