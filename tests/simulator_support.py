"""Helpers for the simulator tests: a started simulator, an authorised httpx client, feed
XML written by hand with lxml, and the official models to check answers against."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import amazon_spec
import httpx
import jsonschema
from lxml import etree

from feeds.simulator import OrderBook, Simulator, SimulatorConfig, start_simulator

FEEDS = "/feeds/2021-06-30"
ORDERS = "/orders/v0/orders"
MARKETPLACE = "ATVPDKIKX0DER"
XML_TYPE = "text/xml; charset=UTF-8"
UPS_TRACKING = "1Z999AA10123456784"  # a UPS number with a valid check digit


def config(**kw: Any) -> SimulatorConfig:
    """A fast test configuration: no processing delay, no rate limits unless asked."""
    kw.setdefault("enforce_rate_limits", False)
    return SimulatorConfig(**kw)


@dataclass
class Api:
    """An authorised client that keeps every answer, for the contract checks."""

    sim: Simulator
    http: httpx.Client
    token: str = ""
    seen: list[tuple[str, int, Any]] = field(default_factory=list)

    def login(self) -> str:
        r = self.http.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.sim.config.refresh_token,
                "client_id": self.sim.config.client_id,
                "client_secret": self.sim.config.client_secret,
            },
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        return self.token

    def call(self, operation: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if self.token and "x-amz-access-token" not in headers:
            headers["x-amz-access-token"] = self.token
        r = self.http.request(method, path, headers=headers, **kw)
        body = (
            r.json() if r.content and r.headers.get("content-type") == "application/json" else None
        )
        self.seen.append((operation, r.status_code, body))
        return r

    # -- feeds flow --------------------------------------------------------------------

    def upload(self, content: bytes, content_type: str = XML_TYPE) -> str:
        r = self.call(
            "createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": content_type}
        )
        assert r.status_code == 201, r.text
        put = self.http.put(
            r.json()["url"], content=content, headers={"Content-Type": content_type}
        )
        assert put.status_code == 200, put.text
        return str(r.json()["feedDocumentId"])

    def create_feed(self, doc_id: str, feed_type: str = "POST_ORDER_FULFILLMENT_DATA") -> str:
        r = self.call(
            "createFeed",
            "POST",
            f"{FEEDS}/feeds",
            json={
                "feedType": feed_type,
                "marketplaceIds": [MARKETPLACE],
                "inputFeedDocumentId": doc_id,
            },
        )
        assert r.status_code == 202, r.text
        return str(r.json()["feedId"])

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        r = self.call("getFeed", "GET", f"{FEEDS}/feeds/{feed_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def submit(self, content: bytes) -> str:
        return self.create_feed(self.upload(content))

    def result(self, feed_id: str) -> tuple[dict[str, Any], bytes]:
        """The finished feed and its result document, decompressed if it was gzipped."""
        feed = self.get_feed(feed_id)
        assert feed["processingStatus"] in ("DONE", "FATAL"), feed
        r = self.call("getFeedDocument", "GET", f"{FEEDS}/documents/{feed['resultFeedDocumentId']}")
        doc = r.json()
        raw = self.http.get(doc["url"]).content
        if doc.get("compressionAlgorithm") == "GZIP":
            import gzip

            raw = gzip.decompress(raw)
        return feed, raw


#: The simulator speaks plain HTTP; a bare context spares loading CA certificates per client.
NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def client(sim: Simulator, **kw: Any) -> httpx.Client:
    kw.setdefault("timeout", 10)
    return httpx.Client(base_url=sim.url, verify=NO_TLS, **kw)


def api_for(sim: Simulator, login: bool = True) -> Iterator[Api]:
    with client(sim) as http:
        api = Api(sim, http)
        if login:
            api.login()
        yield api


def running(cfg: SimulatorConfig | None = None, book: OrderBook | None = None) -> Simulator:
    return start_simulator(cfg or config(), book if book is not None else OrderBook())


# -- feed XML ------------------------------------------------------------------------------


@dataclass
class Msg:
    order_id: str
    items: list[tuple[str, int | None]] = field(default_factory=list)
    carrier_code: str | None = "UPS"
    carrier_name: str | None = None
    tracking: str | None = UPS_TRACKING
    method: str | None = "Ground"
    date: str = "2026-01-31T10:00:00Z"


def feed_xml(*messages: Msg) -> bytes:
    root = etree.Element("AmazonEnvelope")
    header = etree.SubElement(root, "Header")
    etree.SubElement(header, "DocumentVersion").text = "1.01"
    etree.SubElement(header, "MerchantIdentifier").text = "A1TESTSELLER"
    etree.SubElement(root, "MessageType").text = "OrderFulfillment"
    for n, m in enumerate(messages, 1):
        msg = etree.SubElement(root, "Message")
        etree.SubElement(msg, "MessageID").text = str(n)
        of = etree.SubElement(msg, "OrderFulfillment")
        etree.SubElement(of, "AmazonOrderID").text = m.order_id
        etree.SubElement(of, "FulfillmentDate").text = m.date
        if m.carrier_code or m.carrier_name:
            fd = etree.SubElement(of, "FulfillmentData")
            if m.carrier_code:
                etree.SubElement(fd, "CarrierCode").text = m.carrier_code
            else:
                etree.SubElement(fd, "CarrierName").text = m.carrier_name
            if m.method:
                etree.SubElement(fd, "ShippingMethod").text = m.method
            if m.tracking:
                etree.SubElement(fd, "ShipperTrackingNumber").text = m.tracking
        for item_id, qty in m.items:
            item = etree.SubElement(of, "Item")
            etree.SubElement(item, "AmazonOrderItemCode").text = item_id
            if qty is not None:
                etree.SubElement(item, "Quantity").text = str(qty)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- official models -------------------------------------------------------------------------


@dataclass
class Parsed:
    processed: int
    successful: int
    errors: int
    warnings: int
    transaction_id: str
    results: list[dict[str, str]]


def parse_report(raw: bytes) -> Parsed:
    """Validate a processing report against Amazon's schema, then read it."""
    amazon_spec.envelope_schema().assertValid(etree.fromstring(raw))
    return read_report(raw)


def read_report(raw: bytes) -> Parsed:
    """Read a processing report without Amazon's schema at hand: for tests of what the
    simulator decided, which should run from the clone alone (the schema check is its own test)."""
    doc = etree.fromstring(raw)
    pr = doc.find("Message/ProcessingReport")
    assert pr is not None
    assert pr.findtext("StatusCode") == "Complete"
    s = pr.find("ProcessingSummary")
    assert s is not None
    results = [
        {
            "MessageID": r.findtext("MessageID") or "",
            "ResultCode": r.findtext("ResultCode") or "",
            "ResultMessageCode": r.findtext("ResultMessageCode") or "",
            "ResultDescription": r.findtext("ResultDescription") or "",
            "AmazonOrderID": r.findtext("AdditionalInfo/AmazonOrderID") or "",
        }
        for r in pr.iterfind("Result")
    ]
    return Parsed(
        int(s.findtext("MessagesProcessed") or -1),
        int(s.findtext("MessagesSuccessful") or -1),
        int(s.findtext("MessagesWithError") or -1),
        int(s.findtext("MessagesWithWarning") or -1),
        pr.findtext("DocumentTransactionID") or "",
        results,
    )


_MODEL_OF = {
    "createFeedDocument": "feeds_2021-06-30.json",
    "createFeed": "feeds_2021-06-30.json",
    "getFeed": "feeds_2021-06-30.json",
    "getFeeds": "feeds_2021-06-30.json",
    "cancelFeed": "feeds_2021-06-30.json",
    "getFeedDocument": "feeds_2021-06-30.json",
    "getOrders": "ordersV0.json",
    "getOrder": "ordersV0.json",
    "getOrderItems": "ordersV0.json",
    "confirmShipment": "ordersV0.json",
}


def response_schema(operation: str, status: int) -> dict[str, Any] | None:
    """The official schema of an operation's answer with this status (None: no body)."""
    model = amazon_spec.model(_MODEL_OF[operation])
    for ops in model["paths"].values():
        for op in ops.values():
            if isinstance(op, dict) and op.get("operationId") == operation:
                response = op["responses"].get(str(status))
                assert response is not None, f"{operation} does not document status {status}"
                schema = response.get("schema")
                if schema is None:
                    return None
                return {"definitions": model["definitions"], "allOf": [schema]}
    raise AssertionError(f"no operation {operation}")


def assert_matches_model(operation: str, status: int, body: Any) -> None:
    schema = response_schema(operation, status)
    if schema is None:
        assert body is None, f"{operation} {status} must have no body"
        return
    jsonschema.Draft4Validator(schema).validate(body)
