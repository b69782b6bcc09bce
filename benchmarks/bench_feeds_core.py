"""Throughput of the pure feed core on synthetic rows: validate, group, write XML.

Run: python benchmarks/bench_feeds_core.py [rows]. Prints rows/s per stage.
"""

from __future__ import annotations

import gc
import io
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from feeds.model import FIELDS, RowChunk
from feeds.packages import PackageGrouper
from feeds.rules import RuleContext, validate_chunk, validate_rows
from feeds.xmlfeed import FeedWriter

CHUNK = 50_000


def _ups(i: int) -> str:
    body = f"1Z999AA10{i % 10**8:08d}"
    from feeds.carriers import ups_check_digit_ok

    for d in "0123456789":
        if ups_check_digit_ok(body + d):
            return body + d
    raise AssertionError


def make_chunks(rows: int) -> list[RowChunk]:
    rnd = random.Random(7)
    carriers = ["UPS", "USPS", "FedEx", "fedex", "Royal Mail", "DHL", "Evri"]
    dates = [f"2026-11-{d:02d}" for d in range(1, 21)] + ["11/19/2026 14:30"]
    chunks = []
    line = 2
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        cells: dict[str, list[str]] = {f: [] for f in FIELDS}
        for j in range(n):
            i = start + j
            c = rnd.choice(carriers)
            cells["order_id"].append(f"{100 + i % 900:03d}-{i % 10**7:07d}-{(i * 7) % 10**7:07d}")
            cells["order_item_id"].append(f"{i:014d}")
            cells["quantity"].append(rnd.choice(["1", "1", "2", ""]))
            cells["ship_date"].append(rnd.choice(dates))
            cells["carrier_code"].append(c)
            cells["carrier_name"].append("")
            if c == "UPS":
                t = _ups(i)
            elif c == "USPS":
                t = f"9400{i:018d}"
            elif c in ("FedEx", "fedex"):
                t = f"{i:012d}"
            elif c == "DHL":
                t = f"{i:010d}"
            elif c == "Royal Mail":
                t = "RB123456785GB"
            else:
                t = f"H{i:015d}"
            cells["tracking_number"].append(t)
            cells["ship_method"].append(rnd.choice(["Ground", "Standard", ""]))
        chunks.append(RowChunk(list(range(line, line + n)), cells, {f: f for f in FIELDS}))
        line += n
    return chunks


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    chunks = make_chunks(rows)
    gc.freeze()  # the synthetic input stays alive; a real reader streams it
    ctx = RuleContext(
        now=datetime(2026, 11, 23, 12, tzinfo=UTC), timezone=UTC, max_age=timedelta(days=60)
    )
    for compact in (False, True):
        run(chunks, ctx, compact=compact)


def run(chunks: list[RowChunk], ctx: RuleContext, *, compact: bool) -> None:
    """One pass; ``compact``: tuples as convert uses them, else Shipment/Package objects."""
    rows = sum(len(c) for c in chunks)
    grouper = PackageGrouper()
    sink = io.BytesIO()
    t_validate = t_group = t_write = 0.0
    accepted = n_packages = 0
    with FeedWriter(
        lambda _i: sink,
        merchant_id="A1BENCH",
        max_messages=10**9,
        max_bytes=10**12,
        close_parts=False,
    ) as w:
        # Streamed as the pipeline does it: one chunk's objects die before the next is read.
        for chunk in chunks:
            t0 = time.perf_counter()
            if compact:
                rows_result = validate_rows(chunk, ctx)
                t1 = time.perf_counter()
                cps = grouper.add_rows(rows_result.lines, rows_result.rows)
                t2 = time.perf_counter()
                w.add_compact_many(cps)
                accepted += len(rows_result.rows)
                n_packages += len(cps)
            else:
                result = validate_chunk(chunk, ctx)
                t1 = time.perf_counter()
                packages = grouper.add(result.shipments)
                t2 = time.perf_counter()
                for p in packages:
                    w.add(p)
                accepted += len(result.shipments)
                n_packages += len(packages)
            t3 = time.perf_counter()
            t_validate += t1 - t0
            t_group += t2 - t1
            t_write += t3 - t2
            sink.seek(0)
            sink.truncate()
    total = t_validate + t_group + t_write
    print(
        f"{'compact tuples' if compact else 'objects'}: rows {rows}, accepted {accepted}, "
        f"packages {n_packages}"
    )
    print(f"  validate        {rows / t_validate:>12,.0f} rows/s  ({t_validate:.2f} s)")
    print(f"  group           {rows / t_group:>12,.0f} rows/s  ({t_group:.2f} s)")
    print(f"  write           {n_packages / t_write:>12,.0f} msgs/s  ({t_write:.2f} s)")
    print(f"  all three       {rows / total:>12,.0f} rows/s  ({total:.2f} s)")


if __name__ == "__main__":
    main()
