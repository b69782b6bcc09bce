"""Many sellers on one SFTP server: 1,000 sellers whose inboxes and outboxes are folders on
one throwaway OpenSSH sshd on loopback, 100 of them holding a small file.

Runs the service's own intake pass (Service.intake: the sellers polled side by side on
the inbox pool, over one shared SSH connection per server and login) and prints

- the first pass: every inbox listed, the 100 files claimed, read, queued in the ledger,
  reported and archived (the time to get all 100 files into the ledger);
- a poll cycle: a later pass over the 1,000 inboxes with nothing new in them;
- peak memory (max RSS of this process: service, built-in simulator and all).

Targets on the 2-core machine: a poll cycle under 10 s; memory under 400 MB.

    python benchmarks/many_sellers.py [--sellers 1000] [--with-files 100] [--pool 8]
        [--ledger-url postgresql://...]   (default: a SQLite ledger in a temp folder)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sshd import running_sshd  # noqa: E402

from config.settings import Secrets, SftpSecret, load_settings  # noqa: E402
from processors.ledger.schema import files  # noqa: E402
from processors.service import Service  # noqa: E402

HEADER = "Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number,Service\r\n"
UPS = "1Z999AA10123456784"


def _files_in_ledger(svc: Service) -> int:
    with svc.ledger.reading() as conn:
        return len(conn.execute(files.select()).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=1000)
    parser.add_argument("--with-files", type=int, default=100)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--ledger-url", default=None)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="shipfeed-many-") as tmp,
        running_sshd(Path(tmp) / "sshd") as server,
    ):
        root = Path(tmp)
        known = server.write_known_hosts(root / "known_hosts")
        base = f"sftp://root@{server.host}:{server.port}{root}"
        day = time.strftime("%Y-%m-%d", time.gmtime())
        sellers = []
        for n in range(args.sellers):
            inbox, outbox = root / f"s{n:04d}" / "in", root / f"s{n:04d}" / "out"
            inbox.mkdir(parents=True)
            outbox.mkdir()
            if n < args.with_files:
                body = HEADER + f"111-{n:07d}-0000001,{n:014d},1,{day},UPS,{UPS},Ground\r\n"
                (inbox / "orders.csv").write_text(body, newline="")
            sellers.append(
                {
                    "name": f"s{n:04d}",
                    "merchant_id": "A1SIMULATEDSELLER",
                    "inbox": f"{base}/s{n:04d}/in",
                    "outbox": f"{base}/s{n:04d}/out",
                    "known_hosts": str(known),
                }
            )
        settings = load_settings(
            None,
            data_dir=root / "var",
            ledger_url=args.ledger_url,
            sellers=sellers,
            simulator={"enabled": "always", "processing_delay_seconds": 0},
            service={"settle_seconds": 0, "inbox_pool_size": args.pool},
        )
        secrets = Secrets(sftp={"default": SftpSecret(private_key_path=str(server.user_key))})
        started = time.perf_counter()
        svc = Service.start(settings, secrets, watch=False, once=True)
        opened = time.perf_counter() - started
        try:
            started = time.perf_counter()
            taken = svc.intake()
            first = time.perf_counter() - started
            in_ledger = _files_in_ledger(svc)
            cycles = []
            for _ in range(args.cycles):
                started = time.perf_counter()
                svc.intake()
                cycles.append(time.perf_counter() - started)
        finally:
            svc.close()
        logins = server.log.read_text().count("Accepted publickey for root")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = "PostgreSQL" if args.ledger_url else "SQLite"
    print(
        f"{args.sellers} sellers on one sshd ({args.with_files} with a file), pool "
        f"{args.pool}, {backend} ledger, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"service start (boxes opened, no connection yet): {opened:.2f} s")
    print(f"first pass: {len(taken)} files taken, {in_ledger} in the ledger, in {first:.2f} s")
    print("poll cycle (nothing new): " + ", ".join(f"{c:.2f} s" for c in cycles))
    print(f"SSH logins to the server: {logins}")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
