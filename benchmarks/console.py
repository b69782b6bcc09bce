"""Console page times with 1,000,000 lines in the ledger (SQLite and PostgreSQL).

    python benchmarks/console.py [--lines N] [--pg URL] [--only sqlite|postgresql]

The lines come in through the ledger's streaming intake (two sellers, ten files); then,
to give the filters something to find, a share of them is set straight in SQL to
confirmed (60 %), error (2 %) and needs_attention (0.5 %), as months of service would
leave them, each confirmed or error line with its event spread over the last 30 days
(bench setup only: the product changes statuses through the ledger; the overview's
running totals are then recounted from the lines and events, tally.rebuild). The order
mirror gets nine orders in ten, with items and prices, as the mirror step leaves them. One
order is resent through the console's own confirmed action so its page has history.
The console runs on a real uvicorn server; each page is fetched over HTTP, logged in,
five times after a warm-up, and the median is printed. Target: under 300 ms each.
Last, the REST API takes 10,000 shipments in one POST (target: 20,000 lines/s).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import create_engine, text

from benchmarks.console_api import post_timings, report
from config.settings import Secrets, Settings
from console.api.tokens import new_token
from console.auth import hash_password
from console.serve import ConsoleThread
from feeds.model import Shipment
from processors.ledger import tally
from processors.ledger.fileintake import FileIntake
from processors.ledger.store import Ledger

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 50_000
FILES = 10
TARGET_MS = 300.0
API_LINES = 10_000  # one POST; target 20,000 lines/s (benchmarks/console_api.py)


def shipments(start: int, n: int) -> Iterator[Shipment]:
    day = datetime(2026, 11, 1, 15, tzinfo=UTC)
    for i in range(start, start + n):
        yield Shipment(
            line=i - start + 2,
            order_id=f"{100 + i % 900:03d}-{i:07d}-{i % 9999991:07d}",
            ship_date=day + timedelta(hours=i % 600),
            order_item_id=f"{i:014d}",
            quantity=1 + i % 3,
            carrier_code="UPS",
            tracking_number=f"1Z{i:016d}",
            ship_method="Ground",
        )


def fill(ledger: Ledger, n: int) -> None:
    per_file = n // FILES
    for f in range(FILES):
        seller = "acme" if f % 2 == 0 else "globex"
        digest = hashlib.sha256(f"bench-{f}".encode()).hexdigest()
        intake = ledger.begin_file(seller, f"orders-{f}.csv", digest, per_file)
        assert isinstance(intake, FileIntake)
        with intake:
            it = shipments(f * per_file, per_file)
            while chunk := list(islice(it, CHUNK)):
                intake.add_lines(chunk)
            intake.finish_file(per_file)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE lines SET status = 'confirmed' WHERE id % 100 < 60"))
        conn.execute(
            text("UPDATE lines SET status = 'error', result_code = '25', message = 'bad' "
                 "WHERE id % 100 IN (60, 61)")
        )  # fmt: skip
        conn.execute(text("UPDATE lines SET status = 'needs_attention' WHERE id % 200 = 125"))
        # Their arrival in confirmed or error, spread over the last 30 days (the
        # overview's chart reads these), then the running totals counted from it all.
        if conn.dialect.name == "sqlite":
            at = "datetime('now', '-' || (id % 30) || ' days')"
        else:
            at = "now() - (id % 30) * interval '1 day'"
        conn.execute(
            text(f"INSERT INTO events (line_id, at, from_status, to_status) SELECT id, {at}, "
                 "'submitted', status FROM lines WHERE status IN ('confirmed', 'error')")
        )  # fmt: skip
        tally.rebuild(conn)
        # The order mirror holds nine orders in ten, with their items: the queue and the
        # order page show price, order date and total from it.
        conn.execute(
            text("INSERT INTO orders (seller, marketplace_id, order_id, status, purchase_date, "
                 "latest_ship_date, ship_service_level, total_amount, total_currency, "
                 "units_shipped, units_unshipped, last_update_date, mirrored_at, items_as_of) "
                 "SELECT seller, 'ATVPDKIKX0DER', order_id, 'Unshipped', ship_date, ship_date, "
                 "'Std US D2D Dom', '24.99', 'USD', 0, quantity, ship_date, ship_date, ship_date "
                 "FROM lines WHERE id % 10 <> 0")
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO order_items (seller, marketplace_id, order_id, order_item_id, sku, "
                 "quantity_ordered, quantity_shipped, price_amount, price_currency) "
                 "SELECT seller, 'ATVPDKIKX0DER', order_id, order_item_id, 'SKU-1', quantity, 0, "
                 "'19.99', 'USD' FROM lines WHERE id % 10 <> 0 AND order_item_id IS NOT NULL")
        )  # fmt: skip
        conn.execute(text("ANALYZE"))


def login(url: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=60)
    page = c.get("/login").text
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m
    r = c.post("/login", data={"username": "bench", "password": password, "csrf_token": m[1]})
    assert r.status_code == 303, r.status_code
    return c


def timed(c: httpx.Client, path: str, runs: int = 5) -> float:
    r = c.get(path)  # warm-up
    assert r.status_code == 200, (path, r.status_code)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = c.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    return statistics.median(times)


def run(backend: str, url: str, n: int, data_dir: Path, *, filled: bool = False) -> None:
    ledger = Ledger.open(url)
    if not filled:
        t = time.perf_counter()
        fill(ledger, n)
        print(f"{backend}: {n:,} lines in {time.perf_counter() - t:.0f} s", flush=True)
    password = "bench password"
    token, digest = new_token()  # the API's POST, measured on this same ledger below
    secrets = Secrets(
        console={"accounts": {"bench": {"password_hash": hash_password(password)}}},
        api={"tokens": {"bench": {"seller": "acme", "token_sha256": digest}}},
    )
    settings = Settings(
        data_dir=data_dir,
        sellers=[
            {"name": s, "merchant_id": f"M-{s}", "inbox": str(data_dir / s / "in"),
             "outbox": str(data_dir / s / "out")}
            for s in ("acme", "globex")
        ],
    )  # fmt: skip
    web = ConsoleThread(settings, secrets, ledger, "127.0.0.1", 0).start()
    try:
        c = login(web.url, password)
        errors = c.get("/queue?status=error").text
        order = re.findall(r'href="/orders/([^"]+)"', errors)[0]
        line = re.findall(r'name="line" value="(\d+)"', errors)[0]
        m = re.search(r'name="csrf_token" value="([^"]+)"', errors)
        assert m
        c.post("/queue/action", data={"action": "resend", "line": line, "confirmed": "yes",
                                      "csrf_token": m[1]})  # fmt: skip
        mid = n // 2
        pages = {
            "queue, first page": "/queue",
            "queue, status error": "/queue?status=error",
            "queue, seller + status needs_attention": "/queue?seller=globex&status=needs_attention",
            "queue, ship date range": "/queue?ship_from=2026-11-10&ship_to=2026-11-12",
            "queue, search tracking": f"/queue?q=1Z{mid:016d}",
            "queue, error page 50 (keyset)": None,
            "order page": f"/orders/{quote(order)}",
            "overview (no target)": "/",
        }
        path = "/queue?status=error"
        for _ in range(49):
            page = c.get(path).text
            nxt = re.search(r'<a href="([^"]+)" rel="next">', page)
            if nxt is None:  # a small run has fewer pages
                break
            path = nxt[1].replace("&amp;", "&")
        pages["queue, error page 50 (keyset)"] = path
        for name, p in pages.items():
            assert p is not None
            ms = timed(c, p)
            flag = "" if "no target" in name or ms < TARGET_MS else "  OVER TARGET"
            print(f"{backend}: {name:<40} {ms:7.1f} ms{flag}", flush=True)
        c.close()
        fresh, again = post_timings(web.url, token, API_LINES, runs=3)
        report(backend, API_LINES, fresh, again)
    finally:
        web.stop()
        ledger.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--pg", default=DEFAULT_PG)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument(
        "--keep", type=Path, help="SQLite ledger file to fill once and reuse on later runs"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            db = args.keep or Path(tmp) / "ledger.sqlite3"
            filled = db.exists()
            run("sqlite", f"sqlite:///{db}", args.lines, Path(tmp) / "s", filled=filled)
        if args.only in (None, "postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                url = f"{args.pg}?options={quote(f'-csearch_path={schema}')}"
                run("postgresql", url, args.lines, Path(tmp) / "p")
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
