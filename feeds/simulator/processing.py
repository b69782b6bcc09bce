"""Process an Order Fulfillment feed against the order book and write Amazon's report.

Amazon first checks the whole document; if that fails nothing is processed and the
report holds one document-level Result (MessageID 0). Otherwise every message is judged
on its own: accepted ones ship their items, rejected ones leave the order untouched. The
report lists Results only for errors and warnings, as real reports do.

Result codes 18028 (order not found) and 18021 (more units than can still be shipped,
also for shipped and cancelled items) are Amazon's. Amazon publishes no numbers for an
unknown item, a missing carrier or a tracking id that does not fit its carrier; the
numbers below for those are the simulator's own and are marked so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from feeds.simulator.orderbook import Order, OrderBook, ShipmentRecord
from feeds.simulator.state import Counters
from feeds.simulator.validate import FeedInvalid, FeedMessage, parse_feed

ORDER_NOT_FOUND = 18028
QUANTITY_NOT_FULFILLABLE = 18021
ITEM_NOT_FOUND = 18029  # simulator's own number: Amazon's is not published
CARRIER_REQUIRED = 18338  # simulator's own number: Amazon's is not published
TRACKING_MISMATCH = 18339  # simulator's own number: Amazon's is not published
WRONG_FEED_TYPE = 5000
FATAL_ERROR = 10001  # simulator's own number for a FATAL feed's report

ORDER_FULFILLMENT_FEED = "POST_ORDER_FULFILLMENT_DATA"


@dataclass
class Result:
    message_id: int
    code: int
    description: str
    warning: bool = False
    order_id: str | None = None
    order_item_id: str | None = None


@dataclass
class Report:
    """What a processing run concluded; rendered to XML by :func:`render_report`."""

    feed_id: str
    processed: int = 0
    successful: int = 0
    with_error: int = 0
    with_warning: int = 0
    results: list[Result] = field(default_factory=list)


def _not_fulfillable(order_id: str) -> str:
    return (
        f"The quantities you provided for order ID ({order_id}) were larger than the "
        "quantities that could be fulfilled. Check the order report for cancelled or "
        "already fulfilled items and resubmit."
    )


def _judge(
    msg: FeedMessage, order: Order | None, merchant_id: str, strict_tracking: bool
) -> tuple[list[Result], list[tuple[str, int]]]:
    """Errors/warnings for one message and, when acceptable, the (item, units) it ships."""
    rid = msg.message_id
    oid = msg.order_id if msg.amazon_order_id else None
    if order is None:
        return [
            Result(
                rid,
                ORDER_NOT_FOUND,
                f"We are unable to find the order {msg.order_id} for Merchant ID {merchant_id}. "
                "Please re-enter the order ID and resubmit.",
                order_id=oid,
            )
        ], []
    if order.status == "Canceled":
        return [
            Result(rid, QUANTITY_NOT_FULFILLABLE, _not_fulfillable(order.order_id), order_id=oid)
        ], []
    if not msg.carrier_code and not msg.carrier_name:
        return [
            Result(
                rid,
                CARRIER_REQUIRED,
                "A CarrierCode (or CarrierName with CarrierCode Other) is required to confirm "
                "this shipment.",
                order_id=oid,
            )
        ], []
    ships: list[tuple[str, int]] = []
    if not msg.items:
        ships = [(i.order_item_id, i.unshipped) for i in order.items if i.unshipped > 0]
        if not ships:
            return [
                Result(
                    rid, QUANTITY_NOT_FULFILLABLE, _not_fulfillable(order.order_id), order_id=oid
                )
            ], []
    else:
        wanted: Counter[str] = Counter()
        for fi in msg.items:
            item = order.item(fi.order_item_id) if fi.order_item_id else None
            if item is None:
                return [
                    Result(
                        rid,
                        ITEM_NOT_FOUND,
                        f"The order item code {fi.order_item_id or '(merchant item id)'} does "
                        f"not belong to order {order.order_id}.",
                        order_id=oid,
                        order_item_id=fi.order_item_id,
                    )
                ], []
            wanted[item.order_item_id] += fi.quantity if fi.quantity is not None else item.unshipped
        for item_id, units in wanted.items():
            item = order.item(item_id)
            assert item is not None
            if units <= 0 or units > item.unshipped:
                return [
                    Result(
                        rid,
                        QUANTITY_NOT_FULFILLABLE,
                        _not_fulfillable(order.order_id),
                        order_id=oid,
                        order_item_id=item_id,
                    )
                ], []
            ships.append((item_id, units))
    results: list[Result] = []
    if msg.carrier_code and msg.tracking_number:
        from feeds.carriers import tracking_fits  # lazy: another module's single list

        if tracking_fits(msg.carrier_code, msg.tracking_number.replace(" ", "").upper()) is False:
            results.append(
                Result(
                    rid,
                    TRACKING_MISMATCH,
                    f"The tracking ID {msg.tracking_number} for order {order.order_id} does not "
                    f"match the expected format for the carrier {msg.carrier_code}.",
                    warning=not strict_tracking,
                    order_id=oid,
                )
            )
            if strict_tracking:
                return results, []
    return results, ships


def process_feed(
    feed_id: str,
    feed_type: str,
    content: bytes,
    book: OrderBook,
    counters: Counters,
    *,
    merchant_id: str,
    auto_create: bool,
    strict_tracking: bool,
    account: str = "",
    marketplace_id: str | None = None,
) -> Report:
    """Apply a feed to the book; every outcome ends up in the returned report."""
    report = Report(feed_id)
    if feed_type != ORDER_FULFILLMENT_FEED:
        report.with_error = 1
        report.results.append(
            Result(
                0,
                WRONG_FEED_TYPE,
                f"Please specify the correct feed type; {feed_type} is not "
                "processed by this simulator.",
            )
        )
        return report
    try:
        messages = parse_feed(content)
    except FeedInvalid as exc:
        report.with_error = 1
        report.results.append(Result(0, exc.code, exc.description))
        return report
    now = datetime.now(UTC)
    for msg in messages:
        with book.lock:
            if auto_create and msg.amazon_order_id:
                named = [(i.order_item_id, i.quantity or 1) for i in msg.items if i.order_item_id]
                if marketplace_id is None:
                    book.ensure_order(msg.order_id, named)
                else:  # made up in the feed's marketplace, as a lookup there would
                    book.ensure_order(msg.order_id, named, marketplace_id)
            order = book.get(msg.order_id) if msg.amazon_order_id else None
            results, ships = _judge(msg, order, merchant_id, strict_tracking)
            if ships and order is not None:
                for item_id, units in ships:
                    item = order.item(item_id)
                    assert item is not None
                    item.quantity_shipped += units
                order.shipments.append(
                    ShipmentRecord(
                        items=ships,
                        ship_date=msg.fulfillment_date,
                        carrier_code=msg.carrier_code,
                        carrier_name=msg.carrier_name,
                        shipping_method=msg.shipping_method,
                        tracking_number=msg.tracking_number,
                        feed_id=feed_id,
                    )
                )
                order.refresh_status(now)
                counters.confirmed(order.order_id, ships, account)
        report.processed += 1
        report.results.extend(results)
        if ships:
            report.successful += 1
            if results:
                report.with_warning += 1
        else:
            report.with_error += 1
    counters.add(messages_processed=report.processed)
    return report


def fatal_report(feed_id: str) -> Report:
    """What a FATAL feed's result document says: nothing was processed, try again."""
    report = Report(feed_id, with_error=1)
    report.results.append(
        Result(
            0,
            FATAL_ERROR,
            "An internal error occurred while processing the feed; no "
            "message was processed. Please resubmit the feed.",
        )
    )
    return report


def render_report(report: Report, merchant_id: str) -> bytes:
    """The ProcessingReport envelope, element for element in the schema's order."""
    root = etree.Element(
        "AmazonEnvelope", nsmap={"xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    )
    root.set(
        "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation", "amzn-envelope.xsd"
    )
    header = etree.SubElement(root, "Header")
    etree.SubElement(header, "DocumentVersion").text = "1.02"
    etree.SubElement(header, "MerchantIdentifier").text = merchant_id
    etree.SubElement(root, "MessageType").text = "ProcessingReport"
    message = etree.SubElement(root, "Message")
    etree.SubElement(message, "MessageID").text = "1"
    pr = etree.SubElement(message, "ProcessingReport")
    etree.SubElement(pr, "DocumentTransactionID").text = report.feed_id
    etree.SubElement(pr, "StatusCode").text = "Complete"
    summary = etree.SubElement(pr, "ProcessingSummary")
    etree.SubElement(summary, "MessagesProcessed").text = str(report.processed)
    etree.SubElement(summary, "MessagesSuccessful").text = str(report.successful)
    etree.SubElement(summary, "MessagesWithError").text = str(report.with_error)
    etree.SubElement(summary, "MessagesWithWarning").text = str(report.with_warning)
    for r in report.results:
        res = etree.SubElement(pr, "Result")
        etree.SubElement(res, "MessageID").text = str(r.message_id)
        etree.SubElement(res, "ResultCode").text = "Warning" if r.warning else "Error"
        etree.SubElement(res, "ResultMessageCode").text = str(r.code)
        etree.SubElement(res, "ResultDescription").text = r.description
        if r.order_id or r.order_item_id:
            info = etree.SubElement(res, "AdditionalInfo")
            if r.order_id:
                etree.SubElement(info, "AmazonOrderID").text = r.order_id
            if r.order_item_id and r.order_item_id.isdigit() and len(r.order_item_id) == 14:
                etree.SubElement(info, "AmazonOrderItemCode").text = r.order_item_id
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
