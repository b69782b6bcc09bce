"""The REST API taking 10,000 shipments in one POST, over HTTP on a real uvicorn server,
into a real ledger (SQLite and PostgreSQL). Target: at least 20,000 lines/s.

    python benchmarks/console_api.py [--lines N] [--runs R] [--pg URL] [--only sqlite|postgresql]

Each run posts new orders under a new Idempotency-Key (a real intake), then the same
POST again (a retry, answered from the ledger). benchmarks/console.py calls
``post_timings`` too, on its million-line ledger.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import create_engine, text

from benchmarks.convert import ups
from config.settings import Secrets, Settings
from console.api.tokens import new_token
from console.serve import ConsoleThread
from processors.ledger.store import Ledger

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_LINES_PER_S = 20_000


def batch(run: int, n: int) -> list[dict[str, object]]:
    """``n`` clean shipments: UPS numbers with a right check digit, as real labels have (a
    wrong one is a warning per line, which measured the warnings, not the intake)."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    base = 5_000_000 + run * n
    rng = random.Random(run)
    return [
        {
            "order_id": f"{200 + i % 700:03d}-{base + i:07d}-{i % 9999991:07d}",
            "order_item_id": f"{base + i:014d}",
            "quantity": 1 + i % 3,
            "ship_date": day,
            "carrier_code": "UPS",
            "tracking_number": ups(rng),
            "ship_method": "Ground",
        }
        for i in range(n)
    ]


def post_timings(url: str, token: str, n: int, runs: int) -> tuple[list[float], list[float]]:
    """Seconds per fresh POST of ``n`` lines, and per retried POST."""
    fresh: list[float] = []
    again: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
        for run in range(runs):
            body = {"shipments": batch(run, n)}
            key = {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
            t = time.perf_counter()
            r = c.post("/api/v1/shipments", json=body, headers=key)
            fresh.append(time.perf_counter() - t)
            assert r.status_code == 201, (r.status_code, r.text[:300])
            assert r.json()["file"]["accepted"] == n
            t = time.perf_counter()
            r = c.post("/api/v1/shipments", json=body, headers=key)
            again.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.json()["replayed"]
    return fresh, again


def report(backend: str, n: int, fresh: list[float], again: list[float]) -> None:
    best, med = min(fresh), statistics.median(fresh)
    rate = n / med
    flag = "" if rate >= TARGET_LINES_PER_S else "  UNDER TARGET"
    print(
        f"{backend}: POST {n:,} lines: median {med * 1000:.0f} ms ({rate:,.0f} lines/s), "
        f"best {best * 1000:.0f} ms{flag}; retried POST median "
        f"{statistics.median(again) * 1000:.0f} ms",
        flush=True,
    )


def run(backend: str, url: str, n: int, runs: int, data_dir: Path) -> None:
    token, digest = new_token()
    secrets = Secrets(api={"tokens": {"bench": {"seller": "acme", "token_sha256": digest}}})
    settings = Settings(
        data_dir=data_dir,
        sellers=[{"name": "acme", "merchant_id": "M-acme", "inbox": str(data_dir / "in"),
                  "outbox": str(data_dir / "out")}],
    )  # fmt: skip
    ledger = Ledger.open(url)
    web = ConsoleThread(settings, secrets, ledger, "127.0.0.1", 0).start()
    try:
        fresh, again = post_timings(web.url, token, n, runs)
        report(backend, n, fresh, again)
    finally:
        web.stop()
        ledger.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", default=DEFAULT_PG)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            run("sqlite", f"sqlite:///{tmp}/ledger.sqlite3", args.lines, args.runs, Path(tmp) / "s")
        if args.only in (None, "postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                url = f"{args.pg}?options={quote(f'-csearch_path={schema}')}"
                run("postgresql", url, args.lines, args.runs, Path(tmp) / "p")
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
