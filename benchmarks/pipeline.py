"""The whole pipeline at scale: a big file through intake into the ledger, out as feeds to
the simulator, and the processing reports back into the ledger.

    python benchmarks/pipeline.py --lines 1000000 [--backend sqlite|postgresql|both]

Prints lines/s per stage (intake: read + validate + ledger insert; batch: claim + build +
upload + createFeed; track: poll + parse + complete) and the peak RSS. Each backend runs in
its own child process so ru_maxrss is that backend's peak. Rate limits are off on both
sides (the simulator's and the client's buckets) and the processing delay is 0: this
measures shipfeed, not Amazon's quotas.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def stage(backend: str, lines: int, work: Path) -> dict[str, float]:
    from convert import generate  # benchmarks/convert.py's generator

    from config.settings import load_settings
    from feeds.simulator import OrderBook, SimulatorConfig, start_simulator
    from feeds.spapi.client import SpApiClient
    from feeds.spapi.ratelimit import UsagePlan
    from ingest.factory import InboxOptions, open_inbox, open_outbox
    from processors.batcher import run_batch
    from processors.context import Context
    from processors.intake import intake_ready
    from processors.ledger.queries import status_counts
    from processors.ledger.store import Ledger
    from processors.tracker import run_tracking

    src = work / "inbox" / "orders.csv"
    src.parent.mkdir(parents=True, exist_ok=True)
    generate(src, lines)
    url = f"sqlite:///{work / 'ledger.sqlite3'}"
    schema = None
    if backend == "postgresql":
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    settings = load_settings(
        None,
        data_dir=work,
        ledger_url=url,
        validation={"max_age_days": 36500},
        spapi={"use_orders_api": False},
        service={"settle_seconds": 0},
    )
    sim = start_simulator(
        SimulatorConfig(auto_create_orders=True, enforce_rate_limits=False), OrderBook()
    )
    ledger = Ledger.open(url)
    client = SpApiClient(
        endpoint=sim.url,
        token_url=f"{sim.url}/auth/o2/token",
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        refresh_token=sim.config.refresh_token,
    )
    fast = UsagePlan(1e6, 10**6)
    client.limiter._plans = dict.fromkeys(client.limiter._plans, fast)  # no client pacing
    ctx = Context(settings, ledger, client, simulated=True)
    seller = settings.sellers[0]
    inbox = open_inbox(str(src.parent), options=InboxOptions(settle_seconds=0, watch=False))
    outbox = open_outbox(str(work / "outbox"))
    out: dict[str, float] = {"lines": lines}
    try:
        t = time.perf_counter()
        (res,) = intake_ready(ctx, seller, inbox, outbox)
        out["intake_s"] = time.perf_counter() - t
        out["accepted"] = res.accepted
        t = time.perf_counter()
        run_batch(ctx, seller)
        out["batch_s"] = time.perf_counter() - t
        t = time.perf_counter()
        while status_counts(ledger).counts["submitted"]:
            run_tracking(ctx)
        out["track_s"] = time.perf_counter() - t
        out["confirmed"] = status_counts(ledger).counts["confirmed"]
    finally:
        client.close()
        ledger.close()
        sim.stop()
        inbox.close()
        if schema is not None:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(stage(args.child, args.lines, Path(tmp))))
        return
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        done = subprocess.run(
            [sys.executable, __file__, "--lines", str(args.lines), "--child", backend],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        n = r["lines"]
        print(
            f"{backend:<10} {n:>9,} lines  intake {n / r['intake_s']:>9,.0f}/s"
            f"  batch {r['accepted'] / r['batch_s']:>9,.0f}/s"
            f"  track {r['accepted'] / r['track_s']:>9,.0f}/s"
            f"  confirmed {int(r['confirmed']):,}  peak RSS {r['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
