"""End-to-end speed and memory of `convert`, beside the converter a seller writes in an afternoon.

    python benchmarks/convert.py [--sizes 100000,1000000] [--files clean,warnings,mixed]

Three generated files, each at each size (orders of 1-4 items, several carriers, valid
UPS/USPS/FedEx/DHL tracking numbers, ISO dates with and without a time):

- ``clean``: every line valid, no repeats;
- ``warnings``: 5% of the lines carry a UPS number whose check digit is wrong (a tracking
  format warning: the line is still sent), which real files often have;
- ``mixed``: 1% errors (a broken order id, an unreadable date, an item id turned into
  1.23E+13 by a spreadsheet), 2% lines exported twice (near and far apart) and many orders
  shipped in two boxes.

Each converter runs in its own process; its peak memory is that process's ru_maxrss (and
its waited-for children's) as os.wait4 reports it, so every run is measured on its own.
The plain script uses the csv module and xml.etree.ElementTree, validates nothing and
builds the whole tree in memory: the honest baseline for "why not just script it".
Shipfeed runs with full validation. Targets (issue 12, 2-core machine): at least 12x the
plain script at 1M rows and 6x at 100k on all three files, peak at most 200 MB. The machine
is shared, so the load average is printed beside every number.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_UPS_VALUES = {c: (ord(c) - ord("A") + 2) % 10 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}

FILES = ("clean", "warnings", "mixed")

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
      len(outcome.outputs), len(outcome.warnings), file=sys.stderr)
outcome.close()
"""


def ups(rng: random.Random, *, wrong: bool = False) -> str:
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTVWXY") for _ in range(6))
    body += "".join(rng.choice("0123456789") for _ in range(9))
    digits = [int(c) if c.isdigit() else _UPS_VALUES[c] for c in body]
    check = (10 - (sum(digits[0::2]) + 2 * sum(digits[1::2])) % 10) % 10
    return f"1Z{body}{(check + 1) % 10 if wrong else check}"


def generate(path: Path, rows: int, kind: str, seed: int = 7) -> None:
    """``rows`` lines of the file ``kind`` (see the module docstring)."""
    rng = random.Random(seed)
    carriers = [
        ("UPS", "Ground", lambda: ups(rng)),
        ("USPS", "Priority Mail", lambda: f"9400{rng.randrange(10**18):018d}"),
        ("FedEx", "Home Delivery", lambda: f"7{rng.randrange(10**11):011d}"),
        ("DHL", "Express", lambda: f"{rng.randrange(10**10):010d}"),
    ]
    days = [f"2025-{m:02d}-{d:02d}" for m in (9, 10, 11) for d in range(1, 29)]
    days += [f"{d} {h:02d}:{m:02d}" for d in days[:20] for h in (9, 14) for m in (0, 30)]
    second_box = 0.5 if kind == "mixed" else 0.2
    made: list[str] = []
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
                if k and rng.random() < second_box:
                    carrier, method, track = rng.choice(carriers)
                    tracking = track()
                item = f"{rng.randrange(10**14):014d}" if items > 1 else ""
                qty = str(rng.choice((1, 1, 1, 2, 3))) if item else ""
                oid, sd, tn, cc = order, day, tracking, carrier
                roll = rng.random()
                if kind == "warnings" and roll < 0.05:
                    cc, tn = "UPS", ups(rng, wrong=True)
                elif kind == "mixed" and roll < 0.01:
                    bad = rng.randrange(3)
                    if bad == 0:
                        oid = order[:-2]
                    elif bad == 1:
                        sd = "next tuesday"
                    else:
                        item = "1.23457E+13"
                line = f"{oid},{item},{qty},{sd},{cc},{tn},{method}\r\n"
                fh.write(line)
                written += 1
                if kind == "mixed":
                    if len(made) < 5000:
                        made.append(line)
                    else:
                        made[rng.randrange(5000)] = line
                    if rng.random() < 0.02 and written < rows:
                        fh.write(rng.choice(made) if rng.random() < 0.5 else line)
                        written += 1
                if written >= rows:
                    break


def run_child(code: str, *args: str) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of one child process, measured for that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(err)
    return elapsed, usage.ru_maxrss / 1024, err.strip()


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="rows per file, comma-separated")
    parser.add_argument("--files", default=",".join(FILES), help="which files: " + ", ".join(FILES))
    parser.add_argument("--no-naive", action="store_true", help="skip the plain script")
    parser.add_argument("--profile", action="store_true", help="cProfile shipfeed in-process")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = [k for k in args.files.split(",") if k]
    unknown = set(kinds) - set(FILES)
    if unknown:
        parser.error(f"unknown files: {', '.join(sorted(unknown))}")

    print(
        f"{'file':<9} {'rows':>9}  {'shipfeed rows/s':>15} {'peak MB':>7}  "
        f"{'plain rows/s':>12} {'peak MB':>7}  {'speed':>6}  load before/after"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            for kind in kinds:
                src = Path(tmp) / f"{kind}-{rows}.csv"
                generate(src, rows, kind)
                if args.profile:
                    profile(src, Path(tmp) / "p.xml")
                    continue
                before = load()
                secs, peak, info = run_child(
                    SHIPFEED, str(src), str(Path(tmp) / "feed.xml"), str(ROOT)
                )
                line = f"{kind:<9} {rows:>9,}  {rows / secs:>15,.0f} {peak:>7.0f}  "
                if args.no_naive:
                    print(f"{line}{'':>12} {'':>7}  {'':>6}  {before}/{load()}  [{info}]")
                else:
                    nsecs, npeak, _ = run_child(NAIVE, str(src), str(Path(tmp) / "naive.xml"))
                    print(
                        f"{line}{rows / nsecs:>12,.0f} {npeak:>7.0f}  x{nsecs / secs:>5.1f}  "
                        f"{before}/{load()}  [{info}]"
                    )
                sys.stdout.flush()
                src.unlink()
    print(
        "[lines accepted rejected duplicates packages parts warnings] of shipfeed's outcome; "
        "the plain script validates nothing and holds the whole tree in memory"
    )


def profile(src: Path, out: Path) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    from config.settings import load_settings
    from processors.convert import convert_file

    settings = load_settings(None, validation={"max_age_days": 36500})
    prof = cProfile.Profile()
    prof.enable()
    convert_file(src, out, merchant_id="M1", settings=settings, parallel=False).close()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
