"""All SP-API calls per 1,000 confirmed lines with the order checks on (issue 11).

A file of N lines (one per order) goes through intake, the order mirror, the batcher and
the tracker against the simulator over real HTTP, until every line is confirmed. Every
SP-API call the simulator answered is counted, mirror upkeep included (the incremental
getOrders read of the seller's orders, the ids it lacked, items), and printed per 1,000
confirmed lines, by operation.

The seller's orders exist on Amazon before the file (orders are placed before they
ship), as N unshipped orders in the simulator's book; the mirror starts empty, so its
first read pays for all of them. Rate limits are off on both sides and the processing
delay is zero: this counts calls, it does not wait out Amazon's quotas.

    python benchmarks/mirror_calls.py [--sizes 100,10000,100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import SellerSettings, Settings
from feeds.simulator import OrderBook, SimulatorConfig, start_simulator
from feeds.spapi.client import SpApiClient
from ingest.factory import InboxOptions, open_inbox, open_outbox
from processors.batcher import run_batch
from processors.context import Context
from processors.intake import intake_ready
from processors.ledger.queries import status_counts
from processors.ledger.store import Ledger
from processors.mirror import run_mirror
from processors.tracker import run_tracking

UPS = "1Z999AA10123456784"


def run(size: int, root: Path) -> tuple[int, Counter[str], float]:
    book = OrderBook.generate(seed=11, count=size)
    sim = start_simulator(
        SimulatorConfig(processing_delay=0.0, enforce_rate_limits=False, merchant_id="A1BENCH"),
        book,
    )
    client = SpApiClient(
        endpoint=sim.url,
        token_url=f"{sim.url}/auth/o2/token",
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        refresh_token=sim.config.refresh_token,
        rate_limits=False,
    )
    inbox_dir, outbox_dir = root / "inbox", root / "outbox"
    inbox_dir.mkdir(parents=True)
    outbox_dir.mkdir()
    day = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d")
    rows = ["Order ID,Order Item ID,Quantity,Ship Date,Carrier,Tracking Number,Ship Method"]
    rows += [f"{o.order_id},,,{day},UPS,{UPS}," for o in book.orders()]
    (inbox_dir / "orders.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    seller = SellerSettings(
        name="bench", merchant_id="A1BENCH", inbox=str(inbox_dir), outbox=str(outbox_dir)
    )
    settings = Settings(data_dir=root / "var", sellers=[seller], spapi={"endpoint": sim.url})
    ledger = Ledger.open(f"sqlite:///{root / 'ledger.sqlite3'}")
    options = InboxOptions(settle_seconds=0, watch=False)
    inbox, outbox = open_inbox(str(inbox_dir), options=options), open_outbox(str(outbox_dir))
    ctx = Context(settings=settings, ledger=ledger, client=client, simulated=True)
    started = time.perf_counter()
    try:
        intake_ready(ctx, seller, inbox, outbox)
        for _ in range(50):
            run_mirror(ctx, seller)
            run_batch(ctx, seller)
            sim.advance()
            run_tracking(ctx, seller)
            counts = status_counts(ledger).counts
            if counts["in_queue"] + counts["submitted"] == 0:
                break
        confirmed = status_counts(ledger).counts["confirmed"]
        return confirmed, Counter(sim.counters.api_calls), time.perf_counter() - started
    finally:
        for close in (inbox.close, outbox.close, ledger.close, client.close, sim.stop):
            close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print(
        f"{'lines':>8} {'confirmed':>9} {'calls':>6} {'per 1,000':>9} {'seconds':>8}  by operation"
    )
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="shipfeed-mirror-calls-") as tmp:
            confirmed, calls, took = run(size, Path(tmp))
        total = sum(calls.values())
        per = 1000 * total / max(confirmed, 1)
        ops = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
        print(f"{size:>8} {confirmed:>9} {total:>6} {per:>9.1f} {took:>8.1f}  {ops}")


if __name__ == "__main__":
    main()
