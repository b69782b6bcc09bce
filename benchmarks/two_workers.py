"""Issue 9's measurement at a smaller scale: N workers on one PostgreSQL ledger, slow createFeed.

Run from the checkout to measure (PYTHONPATH=. python benchmarks/two_workers.py [lines]
[workers] [slow_seconds]); needs PostgreSQL at 127.0.0.1:5432, database ``test`` (a fresh
schema per run, dropped after). Prints what the ledger says and what Amazon (the
simulator) applied.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ledger_db import pg_schema_url
from workers_support import run_workers


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    slow = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    with pg_schema_url() as url, tempfile.TemporaryDirectory() as tmp:
        outcome = run_workers(
            url, Path(tmp), workers=workers, count=count, slow_create_seconds=slow, timeout=180
        )
    late = f"createFeedDocument+createFeed {slow:g}s late"
    print(f"{count} lines, {workers} workers, {late}: {outcome.line()}")


if __name__ == "__main__":
    main()
