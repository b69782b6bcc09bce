"""End-to-end speed and memory of `convert`, beside the converter a seller writes in an afternoon.

    python benchmarks/convert.py --rows 1000000 [--day-first]

Generates a realistic file (multi-item orders, several carriers, valid UPS/USPS/FedEx
tracking numbers, some repeated lines), then runs each converter in its own process so
that its peak memory (ru_maxrss of the child) is its own. The naive converter uses the csv
module and xml.etree.ElementTree, validates nothing and builds the whole tree in memory:
the honest baseline for "why not just script it".
Targets on the reference machine: >= 250,000 rows/s and < 300 MB peak at 1M rows.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_UPS_VALUES = {c: (ord(c) - ord("A") + 2) % 10 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}

NAIVE = r"""
import csv, sys
import xml.etree.ElementTree as ET
src, out = sys.argv[1], sys.argv[2]
env = ET.Element("AmazonEnvelope")
h = ET.SubElement(env, "Header")
ET.SubElement(h, "DocumentVersion").text = "1.01"
ET.SubElement(h, "MerchantIdentifier").text = "M1"
ET.SubElement(env, "MessageType").text = "OrderFulfillment"
with open(src, newline="", encoding="utf-8") as fh:
    for i, row in enumerate(csv.DictReader(fh), 1):
        m = ET.SubElement(env, "Message")
        ET.SubElement(m, "MessageID").text = str(i)
        of = ET.SubElement(m, "OrderFulfillment")
        ET.SubElement(of, "AmazonOrderID").text = row["Order ID"]
        ET.SubElement(of, "FulfillmentDate").text = row["Ship Date"] + "T00:00:00Z"
        fd = ET.SubElement(of, "FulfillmentData")
        ET.SubElement(fd, "CarrierCode").text = row["Carrier"]
        ET.SubElement(fd, "ShippingMethod").text = row["Service"]
        ET.SubElement(fd, "ShipperTrackingNumber").text = row["Tracking Number"]
        if row["Order Item ID"]:
            it = ET.SubElement(of, "Item")
            ET.SubElement(it, "AmazonOrderItemCode").text = row["Order Item ID"]
            ET.SubElement(it, "Quantity").text = row["Qty"]
ET.ElementTree(env).write(out, encoding="UTF-8", xml_declaration=True)
"""

SHIPFEED = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from config.settings import load_settings
from processors.convert import convert_file
settings = load_settings(None, validation={"max_age_days": 36500, "timezone": "America/New_York"})
outcome = convert_file(Path(sys.argv[1]), Path(sys.argv[2]), merchant_id="M1", settings=settings)
print(outcome.lines, outcome.accepted, outcome.rejected, outcome.duplicates, outcome.packages,
      len(outcome.outputs), file=sys.stderr)
outcome.close()
"""


def ups(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTVWXY") for _ in range(6))
    body += "".join(rng.choice("0123456789") for _ in range(9))
    digits = [int(c) if c.isdigit() else _UPS_VALUES[c] for c in body]
    return f"1Z{body}{(10 - (sum(digits[0::2]) + 2 * sum(digits[1::2])) % 10) % 10}"


def generate(path: Path, rows: int, seed: int = 7, *, day_first: bool = False) -> None:
    """Orders of 1-4 items, one or two packages each, ~1% lines exported twice.

    ``day_first``: ship dates as a European export writes them (25/11/2025), which the
    converter must recognise as day-first from the file itself (date_order stays "US").
    """
    rng = random.Random(seed)
    carriers = [
        ("UPS", "Ground", lambda: ups(rng)),
        ("USPS", "Priority Mail", lambda: f"9400{rng.randrange(10**18):018d}"),
        ("FedEx", "Home Delivery", lambda: f"7{rng.randrange(10**11):011d}"),
        ("DHL", "Express", lambda: f"{rng.randrange(10**10):010d}"),
    ]
    days = [f"2025-{m:02d}-{d:02d}" for m in (9, 10, 11) for d in range(1, 29)]
    if day_first:
        days = [f"{d[8:]}/{d[5:7]}/{d[:4]}" for d in days]
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number,Service\r\n")
        while written < rows:
            order = (
                f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
            )
            day = rng.choice(days)
            items = rng.choice((1, 1, 1, 2, 2, 3, 4))
            carrier, method, track = rng.choice(carriers)
            tracking = track()
            for k in range(items):
                if k and rng.random() < 0.2:  # a second box
                    carrier, method, track = rng.choice(carriers)
                    tracking = track()
                item = f"{rng.randrange(10**14):014d}" if items > 1 else ""
                qty = str(rng.choice((1, 1, 1, 2, 3))) if item else ""
                line = f"{order},{item},{qty},{day},{carrier},{tracking},{method}\r\n"
                fh.write(line)
                written += 1
                if rng.random() < 0.01 and written < rows:
                    fh.write(line)
                    written += 1
                if written >= rows:
                    break


def run_child(code: str, *args: str) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: run the smaller first.
    return elapsed, max(peak, before) / 1024, proc.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive converter")
    parser.add_argument("--profile", action="store_true", help="cProfile shipfeed in-process")
    parser.add_argument(
        "--day-first", action="store_true", help="ship dates as 25/11/2025 instead of ISO"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "shipments.csv"
        t = time.perf_counter()
        generate(src, args.rows, day_first=args.day_first)
        print(
            f"generated {args.rows:,} rows ({src.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        if args.profile:
            profile(src, Path(tmp) / "p.xml")
            return
        # Shipfeed first: ru_maxrss of children only grows, and the naive one is larger.
        secs, peak, info = run_child(SHIPFEED, str(src), str(Path(tmp) / "feed.xml"), str(ROOT))
        print(
            f"shipfeed convert: {args.rows / secs:>12,.0f} rows/s  {secs:6.2f} s  "
            f"peak {peak:6.0f} MB   (lines accepted rejected duplicates packages parts: {info})"
        )
        if not args.no_naive:
            nsecs, npeak, _ = run_child(NAIVE, str(src), str(Path(tmp) / "naive.xml"))
            print(
                f"naive script:     {args.rows / nsecs:>12,.0f} rows/s  {nsecs:6.2f} s  "
                f"peak {npeak:6.0f} MB   (no validation, whole tree in memory)"
            )
            print(f"ratio shipfeed/naive: speed x{nsecs / secs:.2f}, memory x{peak / npeak:.2f}")


def profile(src: Path, out: Path) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    from config.settings import load_settings
    from processors.convert import convert_file

    settings = load_settings(None, validation={"max_age_days": 36500})
    prof = cProfile.Profile()
    prof.enable()
    convert_file(src, out, merchant_id="M1", settings=settings).close()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
