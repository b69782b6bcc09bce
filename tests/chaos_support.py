"""The world of the chaos test (tests/test_chaos.py): thirty sellers' files, their
settings and secrets, a fleet of ``run.py`` workers that can be killed and restarted, and
the checks of what ended in the sellers' outboxes.

Kept apart from the test so the test reads as its timeline and its assertions. Every
seller's order ids carry the seller's number in their middle group
(``111-0000007-0000123`` is seller 7's), so a report in the wrong outbox shows itself in
any file that names an order, whatever its format.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from service_support import HEADER, item_id, ups

from ingest.names import WORK_DIR_NAME

ROOT = Path(__file__).resolve().parents[1]

#: Each region's marketplace for the sellers of an account there.
MARKETPLACE = {"NA": "ATVPDKIKX0DER", "EU": "A1PA6795UKMFR9", "FE": "A1VC38T7YXB528"}
#: Lines per file of every seller, 1,000 in all; the multi-item files (orders of two or
#: three items, one package each) are the ones at MULTI_ITEM.
FILE_SIZES = (1, 3, 36, 60, 100, 100, 150, 150, 200, 200)
MULTI_ITEM = (2, 5, 8)
ORDER_ID = re.compile(r"\b\d{3}-(\d{7})-\d{7}\b")


@dataclass(frozen=True)
class Account:
    """One simulated selling-partner account: its credentials name and region."""

    name: str
    region: str

    @property
    def token(self) -> str:
        return f"Atzr|chaos-{self.name}"

    @property
    def merchant(self) -> str:
        return f"A{self.name.upper()}CHAOS"


@dataclass
class Seller:
    number: int  # 1-based: the middle group of its order ids
    account: Account
    sftp: bool
    inbox: Path  # where its files lie on disk (for an SFTP seller: on the sshd's host)
    outbox: Path
    files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # name -> items
    contents: dict[str, str] = field(default_factory=dict)  # name -> the file's text

    @property
    def name(self) -> str:
        return f"s{self.number:02d}"

    def lines(self) -> set[tuple[str, str]]:
        return {key for items in self.files.values() for key in items}


def make_sellers(root: Path, accounts: list[Account], count: int, on_sftp: int) -> list[Seller]:
    """``count`` sellers spread over the accounts in turn; the first ``on_sftp`` on SFTP."""
    sellers = []
    for k in range(count):
        base = root / ("sftp" if k < on_sftp else "local") / f"s{k + 1:02d}"
        sellers.append(
            Seller(k + 1, accounts[k % len(accounts)], k < on_sftp, base / "in", base / "out")
        )
    for s in sellers:
        s.inbox.mkdir(parents=True)
        s.outbox.mkdir(parents=True)
    return sellers


def file_lines(seller: Seller, index: int, first_item: int, rng: random.Random) -> list[str]:
    """One file's lines: one item per order, or orders of one to three items sharing a
    package (same tracking number) in the multi-item files. Items are numbered globally
    from ``first_item``, so no two lines anywhere name the same order item."""
    day = datetime.now(UTC).date().isoformat()
    out: list[str] = []
    n = first_item
    size = FILE_SIZES[index]
    while len(out) < size:
        items = min(size - len(out), rng.choice((1, 2, 3)) if index in MULTI_ITEM else 1)
        order = f"111-{seller.number:07d}-{n:07d}"
        tracking = ups(rng)
        for _ in range(items):
            out.append(f"{order},{item_id(n)},1,{day},UPS,{tracking},Ground\r\n")
            n += 1
    return out


def plan_files(sellers: list[Seller], seed: int) -> dict[tuple[str, str], str]:
    """Every seller's ten files, in memory; returns (order, item) -> seller name."""
    rng = random.Random(seed)
    owner: dict[tuple[str, str], str] = {}
    for s in sellers:
        first = 1
        for index in range(len(FILE_SIZES)):
            lines = file_lines(s, index, first, rng)
            first += len(lines)
            name = f"{s.name}-{index:02d}.csv"
            s.files[name] = [(ln.split(",")[0], ln.split(",")[1]) for ln in lines]
            s.contents[name] = HEADER + "".join(lines)
            for key in s.files[name]:
                owner[key] = s.name
    return owner


def drop_files(sellers: list[Seller], indexes: range) -> int:
    """Put the files of these indexes in every seller's inbox, each written under a
    hidden name and renamed, as an uploader does; returns how many."""
    n = 0
    for s in sellers:
        for index in indexes:
            name = f"{s.name}-{index:02d}.csv"
            tmp = s.inbox / f".{name}.part"
            tmp.write_text(s.contents[name], encoding="utf-8", newline="")
            tmp.rename(s.inbox / name)
            n += 1
    return n


# -- settings and secrets ------------------------------------------------------------


def write_settings(
    path: Path,
    *,
    ledger_url: str,
    sim_url: str,
    sellers: list[Seller],
    sftp_base: str,
    known_hosts: Path,
    service: dict[str, float],
) -> Path:
    out = [f'ledger_url = "{ledger_url}"', "[service]"]
    out += [f"{k} = {v}" for k, v in service.items()]
    out += [
        "[spapi]",
        f'endpoint = "{sim_url}"',
        f'endpoints = {{ EU = "{sim_url}/eu", FE = "{sim_url}/fe" }}',
        f'token_url = "{sim_url}/auth/o2/token"',
        "max_retries = 3",
        "timeout_seconds = 10",
        # 30,000 orders looked up one by one (getOrder 0.5/s) or by fifty (getOrders, one
        # a minute after a burst of 20) would take hours: the mirror is not under test.
        "use_orders_api = false",
        "[simulator]",
        'enabled = "never"',
    ]
    for s in sellers:
        box = (lambda p: f"{sftp_base}{p}") if s.sftp else str
        out += [
            "[[sellers]]",
            f'name = "{s.name}"',
            f'merchant_id = "{s.account.merchant}"',
            f'marketplace_id = "{MARKETPLACE[s.account.region]}"',
            f'credentials = "{s.account.name}"',
            f'inbox = "{box(s.inbox)}"',
            f'outbox = "{box(s.outbox)}"',
            'report_formats = ["csv"]',
        ]
        if s.sftp:
            out.append(f'known_hosts = "{known_hosts}"')
    path.write_text("\n".join(out) + "\n")
    return path


def write_secrets(path: Path, accounts: list[Account], client: tuple[str, str], key: Path) -> Path:
    """The LWA application, each account's refresh token under [lwa.NAME], and the SFTP
    key under [sftp.NAME] (one credentials name serves both, as in production)."""
    out = [f'lwa_client_id = "{client[0]}"', f'lwa_client_secret = "{client[1]}"']
    for a in accounts:
        out += [f"[lwa.{a.name}]", f'refresh_token = "{a.token}"']
        out += [f"[sftp.{a.name}]", f'private_key_path = "{key}"']
    path.write_text("\n".join(out) + "\n")
    path.chmod(0o600)
    return path


# -- the workers -----------------------------------------------------------------------


class Fleet:
    """``run.py`` workers by slot; each start is a new process with a new, empty data
    directory, so nothing a worker left on its own disk can help its successor."""

    def __init__(self, settings: Path, tmp: Path, env: dict[str, str]) -> None:
        self.settings = settings
        self.tmp = tmp
        self.env = env
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.starts = Counter[int]()
        self.logs: list[Path] = []

    def start(self, slot: int) -> None:
        self.starts[slot] += 1
        run = f"w{slot}-{self.starts[slot]:02d}"
        log = self.tmp / f"{run}.log"
        self.logs.append(log)
        cmd = [sys.executable, "run.py", "--settings", str(self.settings)]
        cmd += ["--data-dir", str(self.tmp / run)]
        with log.open("wb") as fh:
            self.procs[slot] = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT
            )

    def kill(self, slot: int) -> None:
        """SIGKILL, as the OOM killer or a pulled plug would: no handler runs."""
        p = self.procs[slot]
        p.send_signal(signal.SIGKILL)
        p.wait()

    def dead(self) -> list[int]:
        """Slots whose worker exited on its own (it should not)."""
        return [k for k, p in self.procs.items() if p.poll() is not None]

    def stop_all(self) -> dict[int, int | None]:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: dict[int, int | None] = {}
        deadline = time.monotonic() + 30
        for k, p in self.procs.items():
            try:
                codes[k] = p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                codes[k] = None
        return codes

    def tail(self, chars: int = 1500) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in self.logs[-6:]
        )

    def grep(self, needle: str) -> int:
        return sum(p.read_text(errors="replace").count(needle) for p in self.logs)


# -- what the sellers see ---------------------------------------------------------------


def reported(seller: Seller) -> int:
    """How many of the seller's files have their result report (JSON) in its outbox."""
    return sum((seller.outbox / f"{name}.result.json").exists() for name in seller.files)


def report_problems(seller: Seller) -> list[str]:
    """What is wrong with the seller's result reports: for each input file exactly one
    result report (its JSON and CSV, no other result file), naming exactly the file's
    lines, each confirmed; and no result report for a file the seller never sent."""
    problems: list[str] = []
    names = [p.name for p in seller.outbox.iterdir() if p.is_file()]
    results = Counter(n.split(".result.")[0] for n in names if ".result." in n)
    for name, items in seller.files.items():
        kinds = sorted(n for n in names if n.startswith(f"{name}.result."))
        if kinds != [f"{name}.result.csv", f"{name}.result.json"]:
            problems.append(f"{seller.name}/{name}: result files {kinds}")
            continue
        rows = json.loads((seller.outbox / f"{name}.result.json").read_text())["rows"]
        statuses = Counter(r["status"] for r in rows)
        if statuses != {"confirmed": len(items)}:
            problems.append(f"{seller.name}/{name}: {dict(statuses)} for {len(items)} lines")
        cells = [(r["cells"]["Order ID"], r["cells"]["Order Item ID"]) for r in rows]
        if sorted(cells) != sorted(items):
            problems.append(f"{seller.name}/{name}: its report's lines are not the file's")
    strays = set(results) - set(seller.files)
    if strays:
        problems.append(f"{seller.name}: result reports of files it never sent: {sorted(strays)}")
    return problems


def foreign_orders(seller: Seller) -> dict[str, set[str]]:
    """Files in the seller's outbox naming another seller's orders: name -> sellers."""
    found: dict[str, set[str]] = {}
    own = f"{seller.number:07d}"
    for p in seller.outbox.rglob("*"):
        if not p.is_file():
            continue
        others = {m for m in ORDER_ID.findall(p.read_text(errors="replace")) if m != own}
        if others:
            found[p.name] = {f"s{int(m):02d}" for m in others}
    return found


def leftovers(seller: Seller) -> dict[str, list[str]]:
    """What is left where it should not be at the end: input files still in the inbox,
    claims or attempts markers still in processing/, quarantined files."""
    work = seller.inbox / WORK_DIR_NAME
    found = {
        "inbox": sorted(p.name for p in seller.inbox.iterdir() if p.is_file()),
        "processing": sorted(
            p.name for p in (work / "processing").iterdir() if not _temporary(p.name)
        ),
        "quarantine": sorted(p.name for p in (work / "quarantine").iterdir()),
    }
    return {k: v for k, v in found.items() if v}


def temp_files(seller: Seller) -> list[str]:
    """Hidden temporary files (``.RANDOM.tmp``) in the outbox or in processing/: a write
    killed between its temporary file and the rename over the real name. Not a report
    (the report it was to replace is still whole), but nothing removes them."""
    processing = seller.inbox / WORK_DIR_NAME / "processing"
    return sorted(
        f"{p.parent.name}/{p.name}"
        for folder in (seller.outbox, processing)
        for p in folder.iterdir()
        if _temporary(p.name)
    )


def _temporary(name: str) -> bool:
    return re.fullmatch(r"\.[0-9a-f]{12}\.tmp", name) is not None


def environment(secrets: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPFEED_LWA_")}
    env["SHIPFEED_SECRETS_FILE"] = str(secrets)
    return env
