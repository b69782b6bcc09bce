"""The service killed with SIGKILL at random moments, restarted each time, loses nothing
and sends nothing twice.

The simulator runs in the test process, so its counters outlive every killed service:
they are Amazon's side of the story, compared at the end with the ledger's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from service_support import item_id, order_id, order_lines, settings_toml, sim_env, write_orders
from simulator_support import config

from config.settings import load_settings
from feeds.simulator import OrderBook, start_simulator
from processors.ledger.queries import status_counts
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
KILLS = 20
LINES_PER_FILE = 4


def test_sigkill_at_random_moments_confirms_every_line_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    var = tmp_path / "var"
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        settings = settings_toml(tmp_path / "s.toml", sim)
        env = {**os.environ, **sim_env(sim)}
        cmd = [sys.executable, "run.py", "--settings", str(settings), "--data-dir", str(var)]
        for n in range(KILLS):
            first = n * LINES_PER_FILE + 1
            write_orders(var / "inbox" / f"f{n:02d}.csv", order_lines(first, LINES_PER_FILE))
            p = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                time.sleep(rng.uniform(0.6, 3.0))  # start-up, intake, submission, tracking
            finally:
                p.send_signal(signal.SIGKILL)
                p.wait()
        final = subprocess.run(
            [*cmd, "--once", "--timeout", "180"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert final.returncode == 0, final.stderr[-3000:]
        total = KILLS * LINES_PER_FILE
        want = {(order_id(k), item_id(k)): 1 for k in range(1, total + 1)}
        assert dict(sim.counters.confirmations) == want

    url = load_settings(None, data_dir=var).resolved_ledger_url
    with Ledger.open(url) as ledger:
        counts = status_counts(ledger).counts
    assert counts["confirmed"] == total
    assert counts["confirmed"] == sum(counts.values())
