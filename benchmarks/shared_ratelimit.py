"""What the shared rate limits cost: one take of a token from the account's bucket in the
PostgreSQL ledger, per SP-API call (processors/ledger/ratelimits.py).

Run from the checkout (PYTHONPATH=. python benchmarks/shared_ratelimit.py [calls]
[processes]); needs PostgreSQL at 127.0.0.1:5432, database ``test`` (a fresh schema per
run, dropped after). Every process takes ``calls`` tokens of one bucket at once (a plan
too large to ever wait), so the number is the statement's cost under contention on the
one row, beside an SP-API call's tens to hundreds of milliseconds.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ledger_db import pg_schema_url

from feeds.spapi.ratelimit import UsagePlan
from processors.ledger.engine import make_engine
from processors.ledger.ratelimits import SharedRateLimiter
from processors.ledger.store import Ledger

PLAN = {"op": UsagePlan(1e9, 2_000_000_000)}


def _takes(url: str, calls: int, out: multiprocessing.Queue) -> None:
    engine = make_engine(url)
    limiter = SharedRateLimiter(engine, "bench@NA", plans=PLAN)
    limiter.take("op")  # connect outside the timing
    start = time.perf_counter()
    for _ in range(calls):
        limiter.take("op")
    out.put(time.perf_counter() - start)
    engine.dispose()


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with pg_schema_url() as url:
        Ledger.open(url).close()  # migrated: the rate_limits table is there
        mp = multiprocessing.get_context("spawn")
        out: multiprocessing.Queue = mp.Queue()
        procs = [mp.Process(target=_takes, args=(url, calls, out)) for _ in range(processes)]
        for p in procs:
            p.start()
        times = [out.get(timeout=300) for _ in procs]
        for p in procs:
            p.join()
    per_call = max(times) / calls * 1000
    print(
        f"{processes} processes x {calls} takes of one account's bucket: "
        f"{per_call:.2f} ms per take (slowest process), "
        f"{processes * calls / max(times):.0f} takes/s in all"
    )


if __name__ == "__main__":
    main()
