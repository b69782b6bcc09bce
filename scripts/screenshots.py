"""Screenshots of the console's main pages, for the README and for review.

    python scripts/screenshots.py OUT_FOLDER

Builds a demo ledger (a temporary SQLite file) through the ledger's own operations, with
a month of files for two sellers, feeds Amazon confirmed or partly refused, and lines
still waiting; serves the console on a free loopback port; logs in with headless
Chromium (Debian's /usr/bin/chromium, driven by Playwright) and saves one PNG per page.
The order mirror holds each order with its items and prices, except half of today's
file, so the queue shows both mirrored orders and ones "not yet mirrored from Amazon".
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Secrets, Settings
from console.auth import hash_password
from console.serve import ConsoleThread
from feeds.model import LineError, Shipment
from feeds.spapi.orders import Money, Order, OrderItem
from processors.ledger import orders as mirror
from processors.ledger.store import Ledger

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "overview": "/",
    "queue": "/queue",
    "queue-errors": "/queue?status=error",
    "files": "/files",
    "feeds": "/feeds",
    "sellers": "/sellers",
}


MARKETS = {"acme-us": ("ATVPDKIKX0DER", "USD"), "brightwave-de": ("A1PA6795UKMFR9", "EUR")}


def mirror_demo(ledger: Ledger, seller: str, ships: list[Shipment], at: datetime) -> None:
    """What the mirror step would have read from Amazon for these orders."""
    market, currency = MARKETS[seller]
    for s in ships:
        qty = s.quantity or 1
        price = f"{(7 + int(s.order_item_id or 0) % 40) * qty}.99"
        order = Order(
            order_id=s.order_id,
            status="Unshipped",
            ship_service_level="Std Dom",
            shipment_service_level_category="Standard",
            purchase_date=at - timedelta(days=1, hours=3),
            raw={},
            last_update_date=at - timedelta(hours=2),
            latest_ship_date=at + timedelta(days=1),
            total=Money(str(Decimal(price) + Decimal("4.99")), currency),  # with shipping
            units_unshipped=qty,
        )
        mirror.save_orders(ledger, seller, market, [order], at)
        item = OrderItem(s.order_item_id or "", qty, 0, f"SKU-{qty}", Money(price, currency))
        mirror.save_items(ledger, seller, market, s.order_id, [item])


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def demo(ledger: Ledger, clock: Clock, now: datetime) -> str:
    """A month of traffic; returns an order id with a history worth showing."""
    shown = ""
    n = 0
    for day in range(30):
        for k, seller in enumerate(("acme-us", "brightwave-de")):
            clock.at = now - timedelta(days=29 - day, hours=8 - 3 * k)
            count = 12 + (day * 7 + k * 5) % 15
            ships = []
            for i in range(count):
                n += 1
                ships.append(
                    Shipment(
                        line=i + 2,
                        order_id=f"{112 + k}-{n:07d}-{(n * 7919) % 9999999:07d}",
                        ship_date=clock.at - timedelta(hours=6),
                        order_item_id=f"{n:014d}",
                        quantity=1 + n % 3,
                        carrier_code=("UPS", "DHL", "USPS")[n % 3],
                        tracking_number=f"1Z{n:016d}",
                    )
                )
            rejected = [LineError(count + 2, "ship-date", "31/02/2026", "not a date")] * (
                day % 4 == 0
            )
            name = f"{seller}-{clock.at:%Y%m%d}.csv"
            digest = hashlib.sha256(name.encode()).hexdigest()
            ledger.record_file(seller, name, digest, 4096, count + len(rejected), ships, rejected)
            today = day == 29 and k == 0
            mirror_demo(ledger, seller, ships[: count // 2] if today else ships, clock.at)
            if today:
                continue  # today's file of acme-us still waits for the next batch
            with ledger.claim_queued(seller, 1000) as claim:
                ids = [ln.id for ln in claim.lines]
                feed = claim.prepare_feed(b"<demo/>", {i + 1: [lid] for i, lid in enumerate(ids)})
            ledger.feed_uploaded(feed, f"doc-{feed}")
            ledger.feed_created(feed, f"5{feed:04d}019{day:02d}")
            clock.at += timedelta(hours=1)
            bad = ids[:: 9 if day % 5 else 4]
            ledger.complete_feed(
                feed,
                {i: ("error", "25", "Amazon: the tracking number is not valid") for i in bad},
                others=("confirmed", None, None),
            )
            if not shown and bad:
                shown = ledger.lines([bad[0]])[0].order_id
    clock.at = now
    return shown


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = Clock(now)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ledger = Ledger.open(f"sqlite:///{data / 'ledger.sqlite3'}", clock=clock)
        order = demo(ledger, clock, now)
        settings = Settings(
            data_dir=data,
            sellers=[
                {"name": "acme-us", "merchant_id": "A1DEMO", "inbox": str(data / "a" / "in"),
                 "outbox": str(data / "a" / "out")},
                {"name": "brightwave-de", "merchant_id": "A2DEMO",
                 "marketplace_id": "A1PA6795UKMFR9", "inbox": str(data / "b" / "in"),
                 "outbox": str(data / "b" / "out")},
            ],
        )  # fmt: skip
        secrets = Secrets(
            console={"accounts": {"operator": {"password_hash": hash_password("demo")}}}
        )
        web = ConsoleThread(settings, secrets, ledger, "127.0.0.1", 0).start()
        try:
            shoot(web.url, out, {**PAGES, "order": f"/orders/{order}"})
        finally:
            web.stop()
            ledger.close()


def shoot(url: str, out: Path, pages: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(base_url=url, viewport={"width": 1280, "height": 800})
        page.goto("/login")
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        for name, path in pages.items():
            page.goto(path)
            page.screenshot(path=str(out / f"{name}.png"))
            print(out / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
