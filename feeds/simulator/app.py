"""The simulator's HTTP side: one loopback server playing LWA, the SP-API and S3.

Built on the standard library's threading server on purpose: it gives direct access to the
socket, so "the connection drops before/after the work" is a real dropped connection, not
an imitation, and it adds no dependency to the product.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from feeds.simulator import feeds_api, orders_api
from feeds.simulator.auth import UNAUTHORIZED_MESSAGE, LwaError, Partner, TokenStore
from feeds.simulator.config import SimulatorConfig
from feeds.simulator.faults import FaultInjector, RateLimiter, rate_header
from feeds.simulator.orderbook import OrderBook
from feeds.simulator.state import Counters, Document, Feed, SimState
from feeds.simulator.wire import Answer, ApiError, Request, error_answer, json_answer

log = logging.getLogger(__name__)

Handler = Callable[[SimState, Request], Answer]

_FEEDS = "/feeds/2021-06-30"
_ORDERS = "/orders/v0/orders"
#: (method, path pattern, operation, handler). SP-API operations need an access token.
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    (
        "POST",
        re.compile(rf"{_FEEDS}/documents"),
        "createFeedDocument",
        feeds_api.create_feed_document,
    ),
    (
        "GET",
        re.compile(rf"{_FEEDS}/documents/(?P<feedDocumentId>[^/]+)"),
        "getFeedDocument",
        feeds_api.get_feed_document,
    ),
    ("POST", re.compile(rf"{_FEEDS}/feeds"), "createFeed", feeds_api.create_feed),
    ("GET", re.compile(rf"{_FEEDS}/feeds"), "getFeeds", feeds_api.get_feeds),
    ("GET", re.compile(rf"{_FEEDS}/feeds/(?P<feedId>[^/]+)"), "getFeed", feeds_api.get_feed),
    (
        "DELETE",
        re.compile(rf"{_FEEDS}/feeds/(?P<feedId>[^/]+)"),
        "cancelFeed",
        feeds_api.cancel_feed,
    ),
    ("GET", re.compile(_ORDERS), "getOrders", orders_api.get_orders),
    ("GET", re.compile(rf"{_ORDERS}/(?P<orderId>[^/]+)"), "getOrder", orders_api.get_order),
    (
        "GET",
        re.compile(rf"{_ORDERS}/(?P<orderId>[^/]+)/orderItems"),
        "getOrderItems",
        orders_api.get_order_items,
    ),
    (
        "POST",
        re.compile(rf"{_ORDERS}/(?P<orderId>[^/]+)/shipmentConfirmation"),
        "confirmShipment",
        orders_api.confirm_shipment,
    ),
]
_DOCUMENTS = re.compile(r"/s3/feed-documents/(?P<documentId>[^/]+)")
TOKEN_PATH = "/auth/o2/token"
#: The simulator serves each region under its own prefix, like Amazon's regional hosts.
REGIONS = ("NA", "EU", "FE")
_REGION_PREFIX = re.compile(r"/(?P<region>na|eu|fe)(?=/)")
WRONG_REGION_DETAILS = "The access token is not valid for this region's endpoint."


class Simulator:
    """A running simulated Amazon. Use as a context manager, or call :meth:`stop`.

    The server and its threads; what it remembers is ``state`` (a SimState), which the
    handlers take. The attributes below are the state's, kept here for callers and tests.
    """

    def __init__(self, config: SimulatorConfig, orderbook: OrderBook | None = None) -> None:
        self.state = SimState(config, orderbook)
        self.limiter = RateLimiter(config.rate_plans)
        self._stopping = threading.Event()
        self._server = _Server((config.host, config.port), _RequestHandler)
        self._server.sim = self
        port = self._server.server_address[1]
        self.url = self.state.url = f"http://{config.host}:{port}"
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="sim-http",
                daemon=True,
            ),
            threading.Thread(target=self._ticker, name="sim-feeds", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- the state, as before -----------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    @property
    def orderbook(self) -> OrderBook:
        return self.state.orderbook

    @property
    def counters(self) -> Counters:
        return self.state.counters

    @property
    def lock(self) -> threading.RLock:
        return self.state.lock

    @property
    def feeds(self) -> dict[str, Feed]:
        return self.state.feeds

    @property
    def documents(self) -> dict[str, Document]:
        return self.state.documents

    @property
    def page_tokens(self) -> dict[str, tuple[list[str], int, int]]:
        return self.state.page_tokens

    @property
    def tokens(self) -> TokenStore:
        return self.state.tokens

    @property
    def faults(self) -> FaultInjector:
        return self.state.faults

    @property
    def signing_key(self) -> bytes:
        return self.state.signing_key

    # -- selling partners ---------------------------------------------------------------

    def add_partner(self, refresh_token: str, merchant_id: str, region: str = "NA") -> Partner:
        """Another seller authorises the application: its refresh token opens its own
        account in ``region`` (served at :meth:`endpoint` of that region only)."""
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}; known: {', '.join(REGIONS)}")
        return self.tokens.add(Partner(refresh_token, merchant_id, region))

    def revoke(self, merchant_id: str) -> None:
        """The seller withdraws the authorisation: LWA refuses its refresh token now."""
        self.tokens.revoke(merchant_id)

    def endpoint(self, region: str) -> str:
        """The SP-API endpoint of ``region`` (the bare URL serves NA, as before regions)."""
        return f"{self.url}/{region.lower()}"

    def new_feed_id(self) -> str:
        return self.state.new_feed_id()

    def new_document_id(self) -> str:
        return self.state.new_document_id()

    # -- feed processing ----------------------------------------------------------------

    def wake(self) -> None:
        self.state.wake()

    def advance(self) -> None:
        """Move feeds along IN_QUEUE → IN_PROGRESS → DONE as their time comes."""
        feeds_api.advance(self.state)

    def release_feeds(self) -> int:
        """Let every feed held by a ``stuck`` or ``queued`` fault go on and finish: Amazon
        ending a feed hours late. Returns how many were held."""
        return feeds_api.release_feeds(self.state)

    def _ticker(self) -> None:
        woken = self.state.woken
        while not self._stopping.is_set():
            woken.wait(0.05)
            woken.clear()
            if not self._stopping.is_set():
                self.advance()

    # -- lifetime -----------------------------------------------------------------------

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.state.wake()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_simulator(
    config: SimulatorConfig | None = None, orderbook: OrderBook | None = None
) -> Simulator:
    """Start a simulator listening on ``config.host:config.port`` (0: a free port)."""
    return Simulator(config or SimulatorConfig(), orderbook)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    sim: Simulator

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (timeout, closed socket) is normal here, not a server fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        log.exception("simulator: error serving %s", client_address)


class _Dropped(Exception):
    """Close the connection without an answer."""


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "shipfeed-simulator"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("simulator: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    # -- plumbing -----------------------------------------------------------------------

    def _read_request(self) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        region = "NA"
        m = _REGION_PREFIX.match(path)
        if m:
            region, path = m["region"].upper(), path[m.end() :]
        return Request(
            region=region,
            method=self.command,
            path=path,
            params={},
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw_query=parts.query,
        )

    def _send(self, answer: Answer, operation: str | None) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        limit = rate_header(operation, self.server.sim.config.rate_plans) if operation else None
        if limit:
            self.send_header("x-amzn-RateLimit-Limit", limit)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self) -> None:
        sim = self.server.sim
        try:
            req = self._read_request()
        except (ValueError, OSError):
            self.close_connection = True
            return
        operation, handler = self._route(req)
        try:
            answer = self._serve(sim, req, operation, handler)
        except _Dropped:
            self._drop()
            return
        except Exception:
            log.exception("simulator: %s %s failed", req.method, req.path)
            answer = error_answer(
                500, "InternalFailure", "We encountered an internal error. Please try again."
            )
        self._send(answer, operation)

    def _route(self, req: Request) -> tuple[str | None, Handler | None]:
        if req.path == TOKEN_PATH:
            return "lwaToken", _lwa_token if req.method == "POST" else None
        m = _DOCUMENTS.fullmatch(req.path)
        if m:
            req.params = m.groupdict()
            if req.method == "PUT":
                return "uploadDocument", feeds_api.upload_document
            if req.method == "GET":
                return "downloadDocument", feeds_api.download_document
            return None, None
        for method, pattern, operation, handler in ROUTES:
            m = pattern.fullmatch(req.path)
            if m and method == req.method:
                req.params = m.groupdict()
                return operation, handler
        return None, None

    def _fault(self, kind: str, operation: str, *, rates: bool) -> bool:
        sim = self.server.sim
        hit = (
            sim.faults.hits(kind, operation) if rates else sim.faults.hits_trigger(kind, operation)
        )
        if hit:
            sim.counters.fault(kind, operation)
        return hit

    def _over_limit(self, req: Request, operation: str) -> bool:
        """Past the account's rate limit for ``operation``: counted per account and
        operation whether or not limits are enforced (the tests' proof that shipfeed kept
        to them), and refused 429 when they are."""
        sim = self.server.sim
        if sim.limiter.allow(operation, req.partner):
            return False
        sim.counters.over(req.partner, operation)
        return sim.config.enforce_rate_limits

    def _serve(
        self, sim: Simulator, req: Request, operation: str | None, handler: Handler | None
    ) -> Answer:
        if operation is None or handler is None:
            return error_answer(
                404,
                "NotFound",
                "Resource not found.",
                f"No operation answers {req.method} {req.path}.",
            )
        sim.counters.call(operation)
        api = operation not in ("lwaToken", "uploadDocument", "downloadDocument")
        if self._fault("drop", operation, rates=api):
            raise _Dropped
        if self._fault("slow", operation, rates=api):
            time.sleep(sim.config.faults.slow_seconds)
        if api:
            token = req.headers.get("x-amz-access-token")
            refused, partner = sim.tokens.holder(token)
            if refused is not None:
                return error_answer(403, "Unauthorized", UNAUTHORIZED_MESSAGE, refused)
            assert token is not None and partner is not None
            if partner.merchant_id and partner.region != req.region:
                return error_answer(403, "Unauthorized", UNAUTHORIZED_MESSAGE, WRONG_REGION_DETAILS)
            req.partner = partner.merchant_id
            sim.counters.account_call(req.partner, operation)
            if self._fault("expire_tokens", operation, rates=True):
                sim.tokens.expire(token)
                return error_answer(
                    403, "Unauthorized", UNAUTHORIZED_MESSAGE, sim.tokens.check(token) or ""
                )
        if self._fault("error500", operation, rates=api):
            return error_answer(
                500, "InternalFailure", "We encountered an internal error. Please try again."
            )
        if self._fault("error503", operation, rates=api):
            return error_answer(
                503, "ServiceUnavailable", "Service is temporarily unavailable. Please try again."
            )
        if api and (
            self._fault("throttle", operation, rates=True) or self._over_limit(req, operation)
        ):
            sim.counters.throttle(operation)
            return error_answer(
                429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        try:
            answer = handler(sim.state, req)
        except ApiError as exc:
            answer = exc.answer()
        if self._fault("drop_after", operation, rates=api):
            raise _Dropped
        if self._fault("slow_answer", operation, rates=api):
            time.sleep(sim.config.faults.slow_seconds)
        return answer


def _lwa_token(sim: SimState, req: Request) -> Answer:
    """LWA's token endpoint: form-encoded in, JSON out, OAuth-style errors."""
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        return json_answer(
            400,
            {
                "error": "invalid_request",
                "error_description": "Content-Type must be application/x-www-form-urlencoded.",
            },
        )
    try:
        form = {k: v[-1] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        form = {}
    try:
        return json_answer(200, sim.tokens.grant(form))
    except LwaError as exc:
        return Answer(
            exc.status,
            json.dumps({"error": exc.error, "error_description": exc.description}).encode(),
        )
