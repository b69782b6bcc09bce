"""A file that kills the service process (SIGKILL, as an abort or the OOM killer would) is
given up after three starts: the fourth run quarantines it with a reason and a rejection
report, and the good file claimed beside it is confirmed. The count survives SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from service_support import item_id, order_id, order_lines, settings_toml, sim_env, write_orders
from simulator_support import config

from feeds.simulator import OrderBook, start_simulator

ROOT = Path(__file__).resolve().parents[1]
#: The real service (run.py), with one change: reading a file named killer* kills the
#: process outright, as a reader crash the sandbox does not cover would.
KILLING_SERVICE = """
import os, signal, sys
sys.path.insert(0, os.getcwd())
import processors.intake as intake
real = intake.open_reader
def open_reader(stream, name, **kw):
    if name.startswith("killer"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(stream, name, **kw)
intake.open_reader = open_reader
import run
sys.argv = ["run.py", *sys.argv[1:]]
run.main()
"""


def test_file_killing_the_service_three_times_is_quarantined_by_the_fourth_run(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "killer.csv", order_lines(1, 2, batch=7))
    write_orders(var / "inbox" / "good.csv", order_lines(1, 3))
    with start_simulator(config(auto_create_orders=True), OrderBook()) as sim:
        settings = settings_toml(tmp_path / "s.toml", sim)
        env = {**os.environ, **sim_env(sim)}
        cmd = [sys.executable, "-c", KILLING_SERVICE, "--settings", str(settings)]
        cmd += ["--data-dir", str(var), "--once", "--timeout", "60"]

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )

        for _ in range(3):
            assert run().returncode == -signal.SIGKILL
        last = run()
        assert last.returncode == 2, last.stderr[-2000:]
        assert dict(sim.counters.confirmations) == {(order_id(n), item_id(n)): 1 for n in (1, 2, 3)}
    [reason] = [p.read_text() for p in (var / "quarantine").glob("*-killer.csv.reason.txt")]
    assert "stopped 3 times" in reason
    intake = json.loads((var / "outbox" / "killer.csv.intake.json").read_text())
    assert "stopped 3 times while taking this file in" in intake["file_error"]
    assert [p.name for p in (var / "processing").iterdir()] == []
    assert (var / "outbox" / "good.csv.result.json").exists()
