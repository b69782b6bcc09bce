"""How fast the SFTP inbox takes files in, against a throwaway OpenSSH sshd on loopback.

Measures (1) files/s for the full pickup of 1,000 small files (listed, claimed, downloaded,
archived) and (2) MB/s downloading one 200 MB file through ``SftpInbox.open``.

    python benchmarks/sftp_inbox.py [--files 1000] [--mb 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sshd import running_sshd  # noqa: E402

from ingest.sftp import SftpInbox  # noqa: E402
from ingest.sftp_conn import SftpAuth, SftpConnection, SftpLocation, SftpOptions  # noqa: E402


def _inbox(server: object, path: Path, known_hosts: Path, **options: int) -> SftpInbox:
    path.mkdir(parents=True, exist_ok=True)
    conn = SftpConnection(
        SftpLocation(server.host, server.port, "root", str(path)),  # type: ignore[attr-defined]
        SftpAuth(private_key_path=str(server.user_key)),  # type: ignore[attr-defined]
        SftpOptions(known_hosts=str(known_hosts), **options),  # type: ignore[arg-type]
    )
    return SftpInbox(conn, settle_seconds=0)


def drain(inbox: SftpInbox) -> int:
    """What the service does per file: claim, read every byte, archive."""
    taken = 0
    for f in inbox.ready():
        claim = inbox.claim(f)
        if claim is None:
            continue
        with inbox.open(claim) as stream:
            stream.read()
        inbox.archive(claim)
        taken += 1
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="shipfeed-bench-") as tmp,
        running_sshd(Path(tmp) / "sshd") as server,
    ):
        root = Path(tmp)
        kh = server.write_known_hosts(root / "known_hosts")

        inbox = _inbox(server, root / "many", kh)
        with server.client() as seller:
            for i in range(args.files):
                with seller.open(str(root / "many" / f"orders-{i:05d}.csv"), "wb") as fh:
                    fh.write(b"order-id,ship-date,carrier,tracking\n" * 8)
        inbox.ready()  # connect outside the timing
        start = time.perf_counter()
        taken = drain(inbox)
        elapsed = time.perf_counter() - start
        assert taken == args.files, taken
        print(
            f"pickup: {args.files} files listed+claimed+downloaded+archived in {elapsed:.2f} s "
            f"= {args.files / elapsed:.0f} files/s"
        )
        inbox.close()

        big = root / "big"
        big.mkdir()
        block = bytes(range(256)) * 4096  # 1 MiB
        with server.client() as seller, seller.open(str(big / "big.csv"), "wb") as fh:
            fh.set_pipelined(True)
            for _ in range(args.mb):
                fh.write(block)
        inbox = _inbox(server, big, kh)
        [claim] = [c for c in (inbox.claim(f) for f in inbox.ready()) if c]
        start = time.perf_counter()
        with inbox.open(claim) as stream:
            got = 0
            while chunk := stream.read(1 << 20):
                got += len(chunk)
        elapsed = time.perf_counter() - start
        assert got == args.mb * len(block)
        print(
            f"download: {args.mb} MiB through SftpInbox.open in {elapsed:.2f} s "
            f"= {args.mb / elapsed:.1f} MiB/s (window {inbox.conn.options.window_size >> 20} MiB)"
        )
        inbox.close()


if __name__ == "__main__":
    main()
