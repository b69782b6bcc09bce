"""How many SP-API calls a confirmed order costs, and how long a feed takes to reach DONE.

Submits feeds of 1, 100, 10,000 and 30,000 orders through the SP-API client to the
simulator over real HTTP (processing delays zero, Amazon's rate limits enforced by both
sides, as in production), waits for DONE, downloads and parses the processing report, and
prints the API calls per 1,000 confirmed orders and the seconds to DONE. For the small
sizes it also confirms the same number of orders one by one through confirmShipment,
the direct path Amazon recommends for feeds of only a few orders, so the two can be
compared.

    python benchmarks/spapi_feeds.py [--sizes 1,100,10000,30000] [--direct-max 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.carriers import tracking_fits
from feeds.model import Item, Package
from feeds.report import parse_processing_report
from feeds.simulator import OrderBook, SimulatorConfig, start_simulator
from feeds.spapi.client import SpApiClient
from feeds.spapi.feeds import ORDER_FULFILLMENT_FEED
from feeds.xmlfeed import feed_bytes

MARKETPLACE = "ATVPDKIKX0DER"


def packages(count: int, batch: int) -> Iterator[Package]:
    shipped = datetime.now(UTC) - timedelta(hours=2)
    for n in range(count):
        tracking = f"94{batch:02d}{n:018d}"  # a USPS IMPB-shaped number, 22 digits
        assert tracking_fits("USPS", tracking), tracking
        yield Package(
            order_id=f"{100 + batch:03d}-{n // 10_000_000:07d}-{n % 10_000_000:07d}",
            ship_date=shipped,
            carrier_code="USPS",
            carrier_name=None,
            tracking_number=tracking,
            ship_method="Ground Advantage",
            items=(Item(order_item_id=f"{n + 1:014d}", quantity=1),),
            lines=(n,),
        )


def calls_so_far(counters: object) -> int:
    return sum(getattr(counters, "api_calls").values())  # noqa: B009


def run_feed(client: SpApiClient, counters: object, size: int, batch: int) -> tuple[int, float]:
    """One feed of ``size`` orders to DONE; returns (API calls, seconds to DONE)."""
    content = feed_bytes(packages(size, batch), merchant_id="A1SIMULATEDSELLER")
    before = calls_so_far(counters)
    start = time.perf_counter()
    feed_id = client.feeds.submit(content, marketplace_ids=[MARKETPLACE])
    while (feed := client.feeds.get_feed(feed_id)).processing_status not in (
        "DONE",
        "FATAL",
        "CANCELLED",
    ):
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    assert feed.processing_status == "DONE" and feed.result_feed_document_id
    doc = client.feeds.get_feed_document(feed.result_feed_document_id)
    report = parse_processing_report(
        client.feeds.download_document(doc), expected_message_ids=range(1, size + 1)
    )
    assert report.trusted and report.successful == size, (report.problems, report.with_error)
    return calls_so_far(counters) - before, elapsed


def run_direct(client: SpApiClient, counters: object, size: int, batch: int) -> tuple[int, float]:
    """``size`` orders confirmed one confirmShipment each; returns (API calls, seconds)."""
    before = calls_so_far(counters)
    start = time.perf_counter()
    for n, package in enumerate(packages(size, batch)):
        client.orders.confirm_shipment(
            package.order_id,
            marketplace_id=MARKETPLACE,
            package=package,
            package_reference_id=str(n + 1),
        )
    return calls_so_far(counters) - before, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,100,10000,30000")
    parser.add_argument("--direct-max", type=int, default=100)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    config = SimulatorConfig(auto_create_orders=True, processing_delay=0.0)
    with start_simulator(config, OrderBook()) as sim:
        client = SpApiClient(
            endpoint=sim.url,
            token_url=f"{sim.url}/auth/o2/token",
            client_id=config.client_id,
            client_secret=config.client_secret,
            refresh_token=config.refresh_token,
        )
        with client:
            client.feeds.get_feeds(feed_types=[ORDER_FULFILLMENT_FEED])  # log in once
            print(f"{'orders':>8} {'path':>7} {'API calls':>10} {'calls/1,000':>12} {'seconds':>9}")
            for batch, size in enumerate(sizes, start=1):
                calls, seconds = run_feed(client, sim.counters, size, batch)
                per_k = calls * 1000 / size
                print(f"{size:>8} {'feed':>7} {calls:>10} {per_k:>12.1f} {seconds:>9.2f}")
                if size <= args.direct_max:
                    calls, seconds = run_direct(client, sim.counters, size, 50 + batch)
                    per_k = calls * 1000 / size
                    print(f"{size:>8} {'direct':>7} {calls:>10} {per_k:>12.1f} {seconds:>9.2f}")
            print("calls by operation:", dict(sorted(sim.counters.api_calls.items())))
            print(
                "seconds for a feed = createFeedDocument + upload + createFeed + getFeed "
                "until DONE; direct = one confirmShipment per order (2/s after a burst of 10)"
            )


if __name__ == "__main__":
    main()
