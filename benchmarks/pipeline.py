"""The whole pipeline at scale: a big file through intake into the ledger, out as feeds to
the simulator, and the processing reports back into the ledger.

    python benchmarks/pipeline.py --lines 1000000 [--backend sqlite|postgresql|both]

Prints lines/s per stage (intake: read + validate + ledger insert; batch: claim + build +
upload + createFeed; track: poll + parse + complete) and the peak RSS after each stage
(ru_maxrss only grows, so "after track" is the run's peak). Each backend runs in its own
child process so ru_maxrss is that backend's peak, and the simulator runs in a process of
its own (``run.py simulator``): it keeps every feed document, report and auto-created
order, which is the simulator's memory, not shipfeed's. Rate limits are off on both sides
(``--no-rate-limits``; ``SpApiClient(rate_limits=False)``) and the processing delay is 0:
this measures shipfeed, not Amazon's quotas. The Orders API lookups before a batch are off
(``spapi.use_orders_api = false``): with them on, each batch looks up at most
``order_lookups_per_batch`` orders, a fixed cost that does not grow with the file.
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def simulator_process() -> Iterator[str]:
    """A simulator in its own process (no rate limits, unknown orders auto-created); yields
    its URL and stops it, whatever happens."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "simulator",
            "--port",
            "0",
            "--auto-create-orders",
            "--no-rate-limits",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].split()[0]
                break
        if not url:
            raise RuntimeError("the simulator did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stage(backend: str, lines: int, work: Path) -> dict[str, float]:
    from convert import generate  # benchmarks/convert.py's generator

    from config.settings import load_settings
    from feeds.simulator.config import SimulatorConfig
    from feeds.spapi.client import SpApiClient
    from ingest.factory import InboxOptions, open_inbox, open_outbox
    from processors.batcher import run_batch
    from processors.context import Context
    from processors.intake import intake_ready
    from processors.ledger.queries import status_counts
    from processors.ledger.store import Ledger
    from processors.tracker import run_tracking

    src = work / "inbox" / "orders.csv"
    src.parent.mkdir(parents=True, exist_ok=True)
    generate(src, lines, "clean")  # every line valid, no repeats
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
    stack = ExitStack()
    sim_url = stack.enter_context(simulator_process())
    creds = SimulatorConfig()  # the simulator's own made-up credentials
    ledger = Ledger.open(url)
    client = SpApiClient(
        endpoint=sim_url,
        token_url=f"{sim_url}/auth/o2/token",
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        rate_limits=False,
    )
    ctx = Context(settings, ledger, client, simulated=True)
    seller = settings.sellers[0]
    inbox = open_inbox(str(src.parent), options=InboxOptions(settle_seconds=0, watch=False))
    outbox = open_outbox(str(work / "outbox"))
    out: dict[str, float] = {"lines": lines, "start_mb": peak_mb()}
    try:
        t = time.perf_counter()
        (res,) = intake_ready(ctx, seller, inbox, outbox)
        out["intake_s"] = time.perf_counter() - t
        out["intake_mb"] = peak_mb()
        out["accepted"] = res.accepted
        t = time.perf_counter()
        run_batch(ctx, seller)
        out["batch_s"] = time.perf_counter() - t
        out["batch_mb"] = peak_mb()
        t = time.perf_counter()
        while status_counts(ledger).counts["submitted"]:
            run_tracking(ctx)
        out["track_s"] = time.perf_counter() - t
        out["track_mb"] = peak_mb()
        out["confirmed"] = status_counts(ledger).counts["confirmed"]
    finally:
        client.close()
        ledger.close()
        stack.close()
        inbox.close()
        if schema is not None:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    out["peak_rss_mb"] = peak_mb()
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
    print("Orders API lookups off; rate limits off on both sides; simulator in its own process")
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
            f" (at start {r['start_mb']:.0f}, after intake {r['intake_mb']:.0f},"
            f" batch {r['batch_mb']:.0f}, track {r['track_mb']:.0f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
