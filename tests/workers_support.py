"""Several workers on one ledger against one simulator, the way several services run.

Each worker is a thread with its own Ledger (its own connections) and its own SP-API
client, looping batch → track as the service loop does, and like the service loop it logs
a failed step and goes on. The simulator's counters are the ground truth for what Amazon
applied; the ledger's line statuses are what the sellers are told. Used by
tests/test_workers_postgres.py and benchmarks/two_workers.py.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from config.settings import SellerSettings, Settings
from feeds.model import Shipment
from feeds.simulator import FaultConfig, OrderBook, Simulator, SimulatorConfig, start_simulator
from feeds.spapi.client import SpApiClient
from processors.batcher import run_batch
from processors.context import Context
from processors.ledger.schema import feeds, lines
from processors.ledger.store import Ledger
from processors.tracker import run_tracking

UPS = "1Z999AA10123456784"
SHIP_DATE = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
OPEN_LINES = ("in_queue", "submitted")
OPEN_FEEDS = ("prepared", "uploaded", "created")


@dataclass
class Outcome:
    statuses: Counter[str]  # ledger: lines per status
    applied: int  # order items Amazon shows confirmed
    applied_twice: int  # order items Amazon confirmed more than once
    feeds_created: int  # createFeed calls Amazon took
    messages: int  # feed messages Amazon processed: one per line unless one was sent twice
    step_errors: Counter[str] = field(default_factory=Counter)  # "batch:Class" -> times
    settled: bool = False
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"ledger {dict(sorted(self.statuses.items()))}; Amazon applied {self.applied} "
            f"order items ({self.applied_twice} twice), {self.feeds_created} feeds created "
            f"with {self.messages} messages; "
            f"step errors {dict(self.step_errors)}; settled={self.settled} in {self.seconds:.1f}s"
        )


def _order(n: int) -> str:
    return f"111-{n:07d}-0000001"


def _item(n: int) -> str:
    return f"{n:014d}"


def _client(sim: Simulator) -> SpApiClient:
    return SpApiClient(
        endpoint=sim.url,
        token_url=f"{sim.url}/auth/o2/token",
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        refresh_token=sim.config.refresh_token,
        timeout=30.0,
        max_retries=2,
        rate_limits=False,
    )


def _take_in(ledger: Ledger, seller: str, count: int) -> None:
    shipments = [
        Shipment(
            line=n + 2,
            order_id=_order(n),
            ship_date=SHIP_DATE,
            order_item_id=_item(n),
            quantity=1,
            carrier_code="UPS",
            tracking_number=UPS,
        )
        for n in range(count)
    ]
    digest = hashlib.sha256(f"{seller}-{count}".encode()).hexdigest()
    ledger.record_file(seller, "orders.csv", digest, 1000, count, shipments, [])


def _open(ledger: Ledger) -> int:
    with ledger.reading() as conn:
        n_lines = conn.execute(
            select(func.count()).select_from(lines).where(lines.c.status.in_(OPEN_LINES))
        ).scalar_one()
        n_feeds = conn.execute(
            select(func.count()).select_from(feeds).where(feeds.c.state.in_(OPEN_FEEDS))
        ).scalar_one()
    return int(n_lines) + int(n_feeds)


def _statuses(ledger: Ledger) -> Counter[str]:
    with ledger.reading() as conn:
        rows = conn.execute(select(lines.c.status, func.count()).group_by(lines.c.status))
        return Counter({str(s): int(n) for s, n in rows})


def run_workers(
    ledger_url: str,
    data_dir: Path,
    *,
    workers: int = 2,
    count: int = 2000,
    slow_create_seconds: float = 2.0,
    timeout: float = 120.0,
) -> Outcome:
    """Take ``count`` lines in, then let ``workers`` workers send and track them until
    nothing is open (or ``timeout``); every createFeedDocument and createFeed answers
    ``slow_create_seconds`` late.
    """
    book = OrderBook()
    for n in range(count):
        book.add_order(_order(n), [(_item(n), 1)])
    faults = FaultConfig(slow_seconds=slow_create_seconds)
    for operation in ("createFeedDocument", "createFeed"):  # "feed creation", both calls
        faults.trigger("slow", operation, 10_000)
    sim = start_simulator(
        SimulatorConfig(processing_delay=0.0, enforce_rate_limits=False, faults=faults), book
    )
    seller = SellerSettings(
        name="acme",
        merchant_id="A1SIMULATEDSELLER",
        inbox=str(data_dir / "inbox"),
        outbox=str(data_dir / "outbox"),
    )
    settings = Settings(
        data_dir=data_dir,
        sellers=[seller],
        spapi={"endpoint": sim.url, "use_orders_api": False},
    )
    watcher = Ledger.open(ledger_url)
    _take_in(watcher, seller.name, count)
    stop = threading.Event()
    errors: Counter[str] = Counter()
    guard = threading.Lock()

    def work() -> None:
        ledger, client = Ledger.open(ledger_url), _client(sim)
        ctx = Context(settings=settings, ledger=ledger, client=client, simulated=True)

        def track() -> None:
            sim.advance()  # no feed waits for the simulator's own ticker
            run_tracking(ctx, seller)

        steps = {"batch": lambda: run_batch(ctx, seller), "track": track}
        try:
            while not stop.is_set():
                for name, step in steps.items():
                    try:
                        step()
                    except Exception as exc:  # the service loop logs a failed step, goes on
                        with guard:
                            errors[f"{name}:{type(exc).__name__}"] += 1
                stop.wait(0.05)
        finally:
            client.close()
            ledger.close()

    started = time.monotonic()
    # Daemons: a worker stuck in a step past the join's timeout must not keep the
    # process alive (the outcome says settled=False instead).
    threads = [
        threading.Thread(target=work, name=f"worker-{i}", daemon=True) for i in range(workers)
    ]
    for t in threads:
        t.start()
    settled = False
    try:
        while time.monotonic() - started < timeout:
            time.sleep(0.25)
            if _open(watcher) == 0:
                settled = True
                break
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        confirmations = sim.counters.confirmations
        outcome = Outcome(
            statuses=_statuses(watcher),
            applied=sum(1 for n in confirmations.values() if n >= 1),
            applied_twice=sum(1 for n in confirmations.values() if n > 1),
            feeds_created=sim.counters.feeds_created,
            messages=sim.counters.messages_processed,
            step_errors=errors,
            settled=settled,
            seconds=time.monotonic() - started,
        )
        watcher.close()
        sim.stop()
    return outcome
