"""The simulator's memory: orders, feeds, documents, and what it was asked to do.

SimState is what the API handlers (feeds_api, orders_api) work on: they take the state,
never the server, so the modules import each other as a tree (app -> handlers -> state).
Counters are the tests' ground truth for "nothing lost, nothing sent twice": every
confirmation Amazon accepted is counted per (order, item), whichever way it arrived.
"""

from __future__ import annotations

import random
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from feeds.simulator.auth import Partner, TokenStore
from feeds.simulator.config import SimulatorConfig
from feeds.simulator.faults import FaultInjector
from feeds.simulator.orderbook import OrderBook

DEFAULT_BOOK_SIZE = 300


class Counters:
    """What the simulator received and did, safe to bump from many request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.feeds_created = 0
        self.messages_processed = 0
        self.package_edits = 0  # confirmShipment repeats of a packageReferenceId
        self.confirmations: Counter[tuple[str, str]] = Counter()  # accepted confirmations
        self.units_confirmed: Counter[tuple[str, str]] = Counter()  # units those shipped
        self.api_calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()  # "kind:operation" -> times injected
        # Per selling-partner account (its merchant id) and operation: calls made, and
        # calls past the account's rate limit (refused 429 when limits are enforced).
        self.account_calls: Counter[tuple[str, str]] = Counter()
        self.over_limit: Counter[tuple[str, str]] = Counter()
        self.feeds_by_account: Counter[str] = Counter()
        # Accepted confirmations per account: (account, order, item) -> times.
        self.account_confirmations: Counter[tuple[str, str, str]] = Counter()

    def add(
        self, *, feeds_created: int = 0, messages_processed: int = 0, package_edits: int = 0
    ) -> None:
        with self._lock:
            self.feeds_created += feeds_created
            self.messages_processed += messages_processed
            self.package_edits += package_edits

    def call(self, operation: str) -> None:
        with self._lock:
            self.api_calls[operation] += 1

    def account_call(self, account: str, operation: str) -> None:
        with self._lock:
            self.account_calls[(account, operation)] += 1

    def over(self, account: str, operation: str) -> None:
        with self._lock:
            self.over_limit[(account, operation)] += 1

    def feed_created(self, account: str) -> None:
        with self._lock:
            self.feeds_created += 1
            self.feeds_by_account[account] += 1

    def throttle(self, operation: str) -> None:
        with self._lock:
            self.throttled[operation] += 1

    def fault(self, kind: str, operation: str) -> None:
        with self._lock:
            self.faults[f"{kind}:{operation}"] += 1

    def confirmed(self, order_id: str, items: list[tuple[str, int]], account: str = "") -> None:
        with self._lock:
            for item_id, units in items:
                self.confirmations[(order_id, item_id)] += 1
                self.units_confirmed[(order_id, item_id)] += units
                self.account_confirmations[(account, order_id, item_id)] += 1


@dataclass
class Document:
    """A feed document: an upload slot from createFeedDocument, or a result report."""

    document_id: str
    content_type: str
    content: bytes | None = None  # None until uploaded
    compressed: bool = False  # served gzipped, announced as GZIP by getFeedDocument
    account: str = ""  # the selling partner whose call made it


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created: datetime
    status: str = "IN_QUEUE"
    fate: str = "normal"  # normal | fatal | corrupt_report: how it ends (createFeed faults)
    held: str | None = None  # stuck (in IN_PROGRESS) | queued (in IN_QUEUE): until released
    started: datetime | None = None
    ended: datetime | None = None
    result_document_id: str | None = None
    feed_options: dict[str, str] = field(default_factory=dict)
    account: str = ""  # the selling partner who created it; only it sees the feed


class SimState:
    """Everything a simulated Amazon remembers, shared by the request threads and the
    feed ticker; ``lock`` guards feeds, documents, page tokens and the id generator."""

    def __init__(self, config: SimulatorConfig, orderbook: OrderBook | None = None) -> None:
        self.config = config
        self.orderbook = (
            orderbook
            if orderbook is not None
            else OrderBook.generate(config.seed, DEFAULT_BOOK_SIZE)
        )
        self.counters = Counters()
        self.lock = threading.RLock()
        self.feeds: dict[str, Feed] = {}
        self.documents: dict[str, Document] = {}
        self.page_tokens: dict[str, tuple[list[str], int, int]] = {}
        self.tokens = TokenStore(config.client_id, config.client_secret, config.token_lifetime)
        self.tokens.add(Partner(config.refresh_token, config.merchant_id, "NA"))
        self.faults = FaultInjector(config.faults, config.seed)
        self.signing_key = secrets.token_bytes(32)
        self.url = ""  # the server's base URL, set once it listens (for signed URLs)
        #: Set to have the feed ticker look at the feeds now rather than at its next tick.
        self.woken = threading.Event()
        #: One feed advance at a time (the ticker and handlers that advance before reading).
        self.advancing = threading.Lock()
        self._ids = random.Random(f"ids-{config.seed}")
        self._next_feed = 50_000_000_000 + self._ids.randrange(10**9)

    def new_feed_id(self) -> str:
        with self.lock:
            self._next_feed += 1
            return str(self._next_feed)

    def new_document_id(self) -> str:
        with self.lock:
            token = uuid.UUID(int=self._ids.getrandbits(128))
            return f"amzn1.tortuga.4.na.{token}.T{self._ids.randrange(10**12)}"

    def wake(self) -> None:
        self.woken.set()

    def merchant_of(self, account: str) -> str:
        """The merchant id a report names: the account's own (it is the partner id)."""
        return account or self.config.merchant_id
