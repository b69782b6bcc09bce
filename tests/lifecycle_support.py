"""A whole shipfeed world for the lifecycle tests: the simulator over real HTTP, a real
ledger (SQLite or PostgreSQL, from the ``ledger_url`` fixture), real inbox/outbox folders,
and one injected clock shared by the ledger and the context."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import SellerSettings, Settings
from feeds.simulator import FaultConfig, OrderBook, Simulator, SimulatorConfig, start_simulator
from feeds.spapi.client import SpApiClient
from ingest.factory import InboxOptions, open_inbox, open_outbox
from ingest.inbox import Inbox, Outbox
from processors.batcher import BatchResult, run_batch
from processors.context import Context
from processors.intake import IntakeResult, intake_ready
from processors.ledger.records import LineRow
from processors.ledger.schema import lines
from processors.ledger.store import Ledger
from processors.mirror import MirrorResult, run_mirror
from processors.tracker import TrackResult, run_tracking

UPS = "1Z999AA10123456784"  # a UPS number with a valid check digit
HEADER = "Order ID,Order Item ID,Quantity,Ship Date,Carrier,Tracking Number,Ship Method"


class FakeClock:
    """Wall time at the start, moved only by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeMonotonic:
    """The client's limiter and backoff clock: sleeping only moves it on (no real waits)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        # At least a millisecond: a float-sized remainder added to a large t would not
        # move it, and the limiter would wait for that remainder forever.
        self.t += max(seconds, 0.001)


@dataclass
class World:
    sim: Simulator
    ctx: Context
    seller: SellerSettings
    inbox: Inbox
    outbox: Outbox
    inbox_dir: Path
    outbox_dir: Path
    clock: FakeClock
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def ledger(self) -> Ledger:
        return self.ctx.ledger

    @property
    def book(self) -> OrderBook:
        return self.sim.orderbook

    def order(self, order_id: str, items: list[tuple[str, int]], **kw: Any) -> str:
        self.book.add_order(order_id, items, **kw)
        return order_id

    def drop(self, name: str, rows: list[str], header: str = HEADER) -> Path:
        path = self.inbox_dir / name
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return path

    def intake(self) -> list[IntakeResult]:
        return intake_ready(self.ctx, self.seller, self.inbox, self.outbox)

    def mirror(self) -> MirrorResult:
        return run_mirror(self.ctx, self.seller)

    def batch(self) -> BatchResult:
        """The mirror pass, then the batch: the service runs them in this order."""
        self.mirror()
        return run_batch(self.ctx, self.seller)

    def track(self) -> TrackResult:
        self.sim.advance()  # processing delay 0: every created feed finishes now
        return run_tracking(self.ctx, self.seller)

    def until_settled(self, rounds: int = 12) -> None:
        """Batch and track (moving the clock past each backoff) until nothing is open."""
        for _ in range(rounds):
            self.batch()
            self.track()
            self.clock.advance(1000)
            if not self.open_lines():
                return
        raise AssertionError(f"still open after {rounds} rounds: {self.open_lines()}")

    def open_lines(self) -> list[LineRow]:
        return [r for r in self.all_lines() if r.status in ("in_queue", "submitted")]

    def all_lines(self) -> list[LineRow]:
        with self.ledger.reading() as conn:
            ids = list(conn.execute(lines.select().with_only_columns(lines.c.id)).scalars())
        return self.ledger.lines(ids) if ids else []

    def statuses(self) -> dict[str, str]:
        """order id (and item) → status, for compact assertions."""
        return {
            r.order_id + (f"/{r.order_item_id}" if r.order_item_id else ""): r.status
            for r in self.all_lines()
        }

    def report(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.outbox_dir / name).read_text(encoding="utf-8"))
        return data

    def close(self) -> None:
        for c in reversed(self.closers):
            c()


def row(
    order_id: str,
    item: str = "",
    qty: str = "",
    tracking: str = UPS,
    method: str = "",
    day: str | None = None,
) -> str:
    day = day or (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    return f"{order_id},{item},{qty},{day},UPS,{tracking},{method}"


def make_world(
    ledger_url: str,
    tmp_path: Path,
    *,
    faults: FaultConfig | None = None,
    auto_create_orders: bool = False,
    max_resends: int = 3,
    service: dict[str, Any] | None = None,
    spapi: dict[str, Any] | None = None,
    email: dict[str, Any] | None = None,
) -> World:
    sim = start_simulator(
        SimulatorConfig(
            processing_delay=0.0,
            enforce_rate_limits=False,
            auto_create_orders=auto_create_orders,
            merchant_id="A1SIMULATEDSELLER",
            faults=faults or FaultConfig(),
        ),
        OrderBook(),
    )
    world_closers: list[Callable[[], None]] = [sim.stop]
    mono = FakeMonotonic()
    client = SpApiClient(
        endpoint=sim.url,
        token_url=f"{sim.url}/auth/o2/token",
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        refresh_token=sim.config.refresh_token,
        timeout=5.0,
        max_retries=5,
        clock=mono,
        sleep=mono.sleep,
    )
    world_closers.append(client.close)
    clock = FakeClock()
    ledger = Ledger.open(ledger_url, max_resends=max_resends, clock=clock)
    world_closers.append(ledger.close)
    inbox_dir, outbox_dir = tmp_path / "inbox", tmp_path / "outbox"
    inbox_dir.mkdir(parents=True)
    outbox_dir.mkdir(parents=True)
    seller = SellerSettings(
        name="acme",
        merchant_id="A1SIMULATEDSELLER",
        inbox=str(inbox_dir),
        outbox=str(outbox_dir),
    )
    settings = Settings(
        data_dir=tmp_path / "var",
        sellers=[seller],
        service={"max_resends": max_resends, **(service or {})},
        spapi={"endpoint": sim.url, **(spapi or {})},
        email=email or {},
    )
    options = InboxOptions(settle_seconds=0, watch=False)
    inbox = open_inbox(str(inbox_dir), options=options)
    outbox = open_outbox(str(outbox_dir), options=options)
    world_closers += [inbox.close, outbox.close]
    ctx = Context(settings=settings, ledger=ledger, client=client, simulated=True, clock=clock)
    return World(sim, ctx, seller, inbox, outbox, inbox_dir, outbox_dir, clock, world_closers)


@pytest.fixture
def world_factory(ledger_url: str, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """Build one World per test (on each ledger backend); everything is closed after."""
    made: list[World] = []

    def build(**kw: Any) -> World:
        w = make_world(ledger_url, tmp_path / f"w{len(made)}", **kw)
        made.append(w)
        return w

    yield build
    for w in made:
        w.close()


@pytest.fixture
def world(world_factory: Callable[..., World]) -> World:
    return world_factory()
