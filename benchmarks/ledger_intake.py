"""Ledger intake speed: a 1,000,000-line file through the streaming intake.

    python benchmarks/ledger_intake.py [--lines N] [--pg URL] [--only sqlite|postgresql]

Each backend runs in its own child process so that its peak memory (ru_maxrss) is its own.
Shipments are generated lazily and fed in chunks, as a reader would stream a big file.
PostgreSQL runs in a throwaway schema of the given database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from feeds.model import Shipment
from processors.ledger.fileintake import FileIntake
from processors.ledger.store import Ledger

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 50_000


def shipments(n: int) -> Iterator[Shipment]:
    day = datetime(2026, 11, 20, 15, tzinfo=UTC)
    for i in range(n):
        yield Shipment(
            line=i + 2,
            order_id=f"{100 + i % 900:03d}-{i:07d}-{i % 9999991:07d}",
            ship_date=day,
            order_item_id=f"{i:014d}",
            quantity=1,
            carrier_code="UPS",
            tracking_number=f"1Z{i:016d}",
            ship_method="Ground",
        )


def run_one(url: str, n: int) -> None:
    ledger = Ledger.open(url)
    start = time.perf_counter()
    intake = ledger.begin_file("bench", "big.csv", hashlib.sha256(url.encode()).hexdigest(), n)
    assert isinstance(intake, FileIntake)
    it = shipments(n)
    while chunk := list(islice(it, CHUNK)):
        intake.add_lines(chunk)
    rec = intake.finish_file(n)
    seconds = time.perf_counter() - start
    ledger.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = url.split(":", 1)[0].split("+")[0]
    print(
        f"{backend:<10} {rec.accepted:>9,} lines in {seconds:6.1f} s = "
        f"{n / seconds:>8,.0f} lines/s, peak memory {peak_mb:,.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--pg", default=DEFAULT_PG)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--url", help=argparse.SUPPRESS)  # child process: run this URL
    args = ap.parse_args()
    if args.url:
        run_one(args.url, args.lines)
        return
    me = [sys.executable, __file__, "--lines", str(args.lines)]
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([*me, "--url", f"sqlite:///{tmp}/ledger.sqlite3"], check=True)
    if args.only in (None, "postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{args.pg}?options={quote(f'-csearch_path={schema}')}"
            subprocess.run([*me, "--url", url], check=True)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
