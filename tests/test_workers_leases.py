"""Real ``run.py`` workers on one PostgreSQL ledger divide the sellers' inboxes, and a
worker killed with SIGKILL has its sellers taken over by another once its leases expire."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ledger_db import pg_schema_url
from service_support import FAST, order_lines, sim_env, write_orders
from simulator_support import config

from feeds.simulator import OrderBook, Simulator, start_simulator
from processors.ledger.inboxleases import lease_holders
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
SELLERS = ["s1", "s2", "s3", "s4"]
LEASE_SECONDS = 3


def _settings(path: Path, sim: Simulator, ledger_url: str, boxes: Path) -> Path:
    service = {**FAST, "inbox_lease_seconds": LEASE_SECONDS}
    lines = [f'ledger_url = "{ledger_url}"', "[service]"]
    lines += [f"{k} = {v}" for k, v in service.items()]
    lines += [
        "[spapi]",
        f'endpoint = "{sim.url}"',
        f'token_url = "{sim.url}/auth/o2/token"',
        "max_retries = 2",
        "timeout_seconds = 5",
        "[simulator]",
        'enabled = "never"',
    ]
    for name in SELLERS:
        lines += [
            "[[sellers]]",
            f'name = "{name}"',
            'merchant_id = "A1SIMULATEDSELLER"',
            f'inbox = "{boxes / name / "in"}"',
            f'outbox = "{boxes / name / "out"}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait_for(what: str, condition: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def _pids(holders: dict[str, str | None]) -> dict[str, int | None]:
    """seller → pid of the worker holding it (worker names are host:pid:random)."""
    return {s: int(h.split(":")[-2]) if h else None for s, h in holders.items()}


@pytest.fixture
def ledger_url() -> Iterator[str]:
    with pg_schema_url() as url:
        Ledger.open(url).close()  # migrated before the workers race to do it
        yield url


def test_a_killed_workers_sellers_are_taken_over_after_their_leases_expire(
    ledger_url: str, tmp_path: Path
) -> None:
    boxes = tmp_path / "boxes"
    workers: list[subprocess.Popen[bytes]] = []
    with (
        start_simulator(config(auto_create_orders=True), OrderBook()) as sim,
        Ledger.open(ledger_url) as watcher,
    ):
        settings = _settings(tmp_path / "s.toml", sim, ledger_url, boxes)
        env = {**os.environ, **sim_env(sim)}

        def start(name: str) -> subprocess.Popen[bytes]:
            cmd = [sys.executable, "run.py", "--settings", str(settings)]
            p = subprocess.Popen(
                [*cmd, "--data-dir", str(tmp_path / name)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            workers.append(p)
            return p

        def holders() -> dict[str, int | None]:
            return _pids(lease_holders(watcher))

        try:
            first = start("a")
            _wait_for(
                "the first worker holds every seller",
                lambda: set(holders().values()) == {first.pid},
                60,
            )
            second = start("b")
            _wait_for(
                "two workers hold two sellers each",
                lambda: Counter(holders().values()) == {first.pid: 2, second.pid: 2},
                60,
            )
            lost = [s for s, pid in holders().items() if pid == first.pid]
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed_at = time.monotonic()
            write_orders(boxes / lost[0] / "in" / "after-kill.csv", order_lines(1, 2))
            _wait_for(
                "the second worker holds every seller",
                lambda: set(holders().values()) == {second.pid},
                LEASE_SECONDS + 30,
            )
            took = time.monotonic() - killed_at
            report = boxes / lost[0] / "out" / "after-kill.csv.intake.json"
            _wait_for("the file in a taken-over inbox is taken in", report.exists, 60)
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0
            assert set(holders().values()) == {None}  # handed back on a clean stop
        finally:
            for p in workers:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    print(f"sellers taken over {took:.1f} s after the kill (lease {LEASE_SECONDS} s)")
    assert took >= LEASE_SECONDS - 1.5  # not before the dead worker's leases had expired
