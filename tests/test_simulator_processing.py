"""Feed processing: what Amazon makes of a feed, and the report it writes about it."""

from __future__ import annotations

from collections.abc import Iterator

import amazon_spec
import pytest
from lxml import etree
from simulator_support import Api, Msg, Parsed, api_for, config, feed_xml, read_report, running

from feeds.simulator import OrderBook, Simulator

ORDER = "111-1111111-1111111"
ITEM_A = "11111111111111"
ITEM_B = "22222222222222"
CANCELLED = "333-3333333-3333333"
SHIPPED = "444-4444444-4444444"


@pytest.fixture
def book() -> OrderBook:
    b = OrderBook()
    b.add_order(ORDER, [(ITEM_A, 2), (ITEM_B, 1)])
    b.add_order(CANCELLED, [("33333333333333", 1)], status="Canceled")
    shipped = b.add_order(SHIPPED, [("44444444444444", 1)])
    shipped.items[0].quantity_shipped = 1
    shipped.refresh_status(shipped.last_update)
    return b


@pytest.fixture
def sim(book: OrderBook) -> Iterator[Simulator]:
    with running(config(), book) as s:
        yield s


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    yield from api_for(sim)


def _report(api: Api, content: bytes) -> Parsed:
    feed_id = api.submit(content)
    feed, raw = api.result(feed_id)
    assert feed["processingStatus"] == "DONE"
    parsed = read_report(raw)
    assert parsed.transaction_id == feed_id
    assert parsed.processed == parsed.successful + parsed.errors or parsed.processed == 0
    return parsed


def _codes(p: Parsed) -> list[str]:
    return [r["ResultMessageCode"] for r in p.results]


def test_valid_feed_marks_items_shipped(api: Api, book: OrderBook) -> None:
    p = _report(api, feed_xml(Msg(ORDER, [(ITEM_A, 2), (ITEM_B, 1)])))
    assert (p.processed, p.successful, p.errors, p.warnings) == (1, 1, 0, 0)
    assert p.results == []
    order = book.get(ORDER)
    assert order is not None and order.status == "Shipped"
    assert order.shipments[0].tracking_number == "1Z999AA10123456784"
    assert order.shipments[0].carrier_code == "UPS"


def test_part_of_an_order_makes_it_partially_shipped(api: Api, book: OrderBook) -> None:
    _report(api, feed_xml(Msg(ORDER, [(ITEM_A, 1)])))
    order = book.get(ORDER)
    assert order is not None and order.status == "PartiallyShipped"
    assert order.item(ITEM_A) is not None and order.item(ITEM_A).quantity_shipped == 1  # type: ignore[union-attr]


def test_message_without_items_ships_the_whole_order(api: Api, book: OrderBook) -> None:
    _report(api, feed_xml(Msg(ORDER)))
    order = book.get(ORDER)
    assert order is not None and order.status == "Shipped"


def test_unknown_order_is_18028_with_order_id(api: Api, book: OrderBook) -> None:
    p = _report(api, feed_xml(Msg("999-9999999-9999999")))
    assert _codes(p) == ["18028"]
    assert p.results[0]["AmazonOrderID"] == "999-9999999-9999999"
    assert p.results[0]["ResultCode"] == "Error"
    assert (p.processed, p.errors) == (1, 1)


def test_unknown_item_is_an_error(api: Api, book: OrderBook) -> None:
    p = _report(api, feed_xml(Msg(ORDER, [("99999999999999", 1)])))
    assert p.errors == 1
    assert p.results[0]["ResultCode"] == "Error"
    assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_quantity_over_unshipped_is_18021(api: Api) -> None:
    p = _report(api, feed_xml(Msg(ORDER, [(ITEM_A, 3)])))
    assert _codes(p) == ["18021"]


def test_already_shipped_item_is_18021(api: Api) -> None:
    p = _report(api, feed_xml(Msg(SHIPPED, [("44444444444444", 1)])))
    assert _codes(p) == ["18021"]


def test_shipping_the_same_item_twice_is_refused_the_second_time(api: Api, sim: Simulator) -> None:
    _report(api, feed_xml(Msg(ORDER, [(ITEM_B, 1)])))
    p = _report(api, feed_xml(Msg(ORDER, [(ITEM_B, 1)])))
    assert _codes(p) == ["18021"]
    assert sim.counters.confirmations[(ORDER, ITEM_B)] == 1


def test_cancelled_order_is_18021(api: Api) -> None:
    p = _report(api, feed_xml(Msg(CANCELLED)))
    assert _codes(p) == ["18021"]


def test_missing_carrier_is_an_error(api: Api, book: OrderBook) -> None:
    p = _report(api, feed_xml(Msg(ORDER, carrier_code=None, tracking=None, method=None)))
    assert p.errors == 1
    assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_carrier_name_alone_is_accepted(api: Api) -> None:
    p = _report(
        api, feed_xml(Msg(ORDER, carrier_code=None, carrier_name="Yun Express", tracking="YT1"))
    )
    assert p.successful == 1


def test_tracking_not_fitting_carrier_is_error_when_strict(api: Api, book: OrderBook) -> None:
    p = _report(api, feed_xml(Msg(ORDER, tracking="12345")))
    assert p.errors == 1 and p.results[0]["ResultCode"] == "Error"
    assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_tracking_not_fitting_carrier_is_warning_when_lenient(book: OrderBook) -> None:
    with running(config(strict_tracking=False), book) as sim:
        for api in api_for(sim):
            p = _report(api, feed_xml(Msg(ORDER, tracking="12345")))
            assert (p.successful, p.warnings, p.errors) == (1, 1, 0)
            assert p.results[0]["ResultCode"] == "Warning"
            assert book.get(ORDER).status == "Shipped"  # type: ignore[union-attr]


def test_good_and_bad_messages_are_judged_separately(api: Api, book: OrderBook) -> None:
    p = _report(api, feed_xml(Msg(ORDER), Msg("999-9999999-9999999")))
    assert (p.processed, p.successful, p.errors) == (2, 1, 1)
    assert [r["MessageID"] for r in p.results] == ["2"]


def _whole_feed_fails(api: Api, content: bytes, code: str) -> None:
    p = _report(api, content)
    assert (p.processed, p.successful, p.errors) == (0, 0, 1)
    assert p.results[0]["MessageID"] == "0"
    assert _codes(p) == [code]


def test_not_xml_fails_whole_feed_with_5001(api: Api, book: OrderBook) -> None:
    _whole_feed_fails(api, b"order-id\tcarrier\n111-1111111-1111111\tUPS\n", "5001")
    assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_wrong_root_fails_whole_feed_with_50001(api: Api) -> None:
    _whole_feed_fails(api, b"<Envelope><Header/></Envelope>", "50001")


def test_lower_case_tags_fail_whole_feed(api: Api) -> None:
    xml = feed_xml(Msg(ORDER)).replace(b"AmazonOrderID", b"amazonorderid")
    _whole_feed_fails(api, xml, "50001")


def test_elements_out_of_order_fail_whole_feed(api: Api) -> None:
    xml = feed_xml(Msg(ORDER)).replace(
        b"<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>A1TESTSELLER"
        b"</MerchantIdentifier></Header><MessageType>OrderFulfillment</MessageType>",
        b"<MessageType>OrderFulfillment</MessageType><Header><DocumentVersion>1.01"
        b"</DocumentVersion><MerchantIdentifier>A1TESTSELLER</MerchantIdentifier></Header>",
    )
    _whole_feed_fails(api, xml, "50001")


def test_missing_amazon_order_id_fails_whole_feed(api: Api) -> None:
    xml = feed_xml(Msg(ORDER)).replace(f"<AmazonOrderID>{ORDER}</AmazonOrderID>".encode(), b"")
    _whole_feed_fails(api, xml, "50001")


def test_bad_fulfillment_date_fails_whole_feed(api: Api) -> None:
    _whole_feed_fails(api, feed_xml(Msg(ORDER, date="31/01/2026")), "50001")


def test_quantity_zero_fails_whole_feed(api: Api) -> None:
    _whole_feed_fails(api, feed_xml(Msg(ORDER, [(ITEM_A, 0)])), "50001")


def test_unknown_carrier_code_fails_whole_feed(api: Api, book: OrderBook) -> None:
    _whole_feed_fails(api, feed_xml(Msg(ORDER, carrier_code="Speedy Parcels")), "50001")
    assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_other_message_type_fails_whole_feed(api: Api) -> None:
    xml = feed_xml(Msg(ORDER)).replace(
        b">OrderFulfillment</MessageType>", b">OrderAcknowledgement</MessageType>"
    )
    _whole_feed_fails(api, xml, "50001")


def test_one_bad_message_fails_all_messages(api: Api, book: OrderBook) -> None:
    _whole_feed_fails(api, feed_xml(Msg(ORDER), Msg("999-9999999-9999999", date="never")), "50001")
    assert book.get(ORDER).status == "Unshipped"  # type: ignore[union-attr]


def test_envelope_error_wording_names_the_line(api: Api) -> None:
    p = _report(api, b"<AmazonEnvelope>\n<Header/>\n</AmazonEnvelope>")
    assert "ill-formed at the Amazon Envelope XML level" in p.results[0]["ResultDescription"]


# One feed for each kind of report the simulator writes: all accepted, one refused message,
# accepted and refused side by side, a warning, and the two whole-feed failures.
REPORT_KINDS: dict[str, tuple[bool, bytes]] = {
    "accepted": (True, feed_xml(Msg(ORDER))),
    "refused-message": (True, feed_xml(Msg("999-9999999-9999999"))),
    "accepted-and-refused": (True, feed_xml(Msg(ORDER), Msg("999-9999999-9999999"))),
    "warning": (False, feed_xml(Msg(ORDER, tracking="12345"))),
    "not-xml": (True, b"order-id\tcarrier\n111-1111111-1111111\tUPS\n"),
    "bad-envelope": (True, b"<Envelope><Header/></Envelope>"),
}


@pytest.mark.parametrize("kind", sorted(REPORT_KINDS))
def test_each_kind_of_report_is_valid_against_amazons_schema(book: OrderBook, kind: str) -> None:
    schema = amazon_spec.envelope_schema()
    strict, content = REPORT_KINDS[kind]
    with running(config(strict_tracking=strict), book) as sim:
        for api in api_for(sim):
            _, raw = api.result(api.submit(content))
            report = etree.fromstring(raw)
            assert schema.validate(report), schema.error_log


def test_auto_create_treats_unknown_order_as_unshipped_with_named_items() -> None:
    book = OrderBook()
    with running(config(auto_create_orders=True), book) as sim:
        for api in api_for(sim):
            p = _report(api, feed_xml(Msg("555-5555555-5555555", [(ITEM_A, 3)])))
            assert p.successful == 1
            order = book.get("555-5555555-5555555")
            assert order is not None and order.status == "Shipped"
            assert order.item(ITEM_A).quantity_ordered == 3  # type: ignore[union-attr]


def test_auto_create_order_without_items_gets_one_item() -> None:
    book = OrderBook()
    with running(config(auto_create_orders=True), book) as sim:
        for api in api_for(sim):
            _report(api, feed_xml(Msg("555-5555555-5555555")))
            order = book.get("555-5555555-5555555")
            assert order is not None and len(order.items) == 1 and order.status == "Shipped"


def test_auto_create_still_refuses_shipping_twice() -> None:
    with running(config(auto_create_orders=True), OrderBook()) as sim:
        for api in api_for(sim):
            _report(api, feed_xml(Msg("555-5555555-5555555", [(ITEM_A, 1)])))
            p = _report(api, feed_xml(Msg("555-5555555-5555555", [(ITEM_A, 1)])))
            assert _codes(p) == ["18021"]


def test_counters_count_feeds_messages_and_confirmations(api: Api, sim: Simulator) -> None:
    _report(api, feed_xml(Msg(ORDER, [(ITEM_A, 2)]), Msg("999-9999999-9999999")))
    assert sim.counters.feeds_created == 1
    assert sim.counters.messages_processed == 2
    assert sim.counters.confirmations == {(ORDER, ITEM_A): 1}
    assert sim.counters.units_confirmed == {(ORDER, ITEM_A): 2}
    assert sim.counters.api_calls["createFeed"] == 1
