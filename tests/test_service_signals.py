"""SIGTERM, SIGHUP and --timeout end a run within seconds, even while a step waits for
Amazon's rate limit, and no feed is created after the signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import (
    order_lines,
    service,
    settings_for,
    settings_toml,
    sim_env,
    sim_secrets,
    write_orders,
)
from simulator_support import config

from feeds.errors import ExitCode
from feeds.simulator import OrderBook, Simulator, start_simulator

ROOT = Path(__file__).resolve().parents[1]
#: createFeed's burst in the client's pacing: the 16th feed waits about two minutes.
CREATE_FEED_BURST = 15


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def loaded(tmp_path: Path, sim: Simulator) -> tuple[Path, Path]:
    """400 lines in feeds of 10: the batch outruns createFeed's burst and waits on it."""
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 400))
    settings = settings_toml(tmp_path / "s.toml", sim)
    text = settings.read_text().replace("[spapi]\n", "[spapi]\nuse_orders_api = false\n")
    settings.write_text(text + "[feed]\nmax_messages = 10\n")
    return var, settings


def serve(settings: Path, var: Path, sim: Simulator, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "run.py", "--settings", str(settings), "--data-dir", str(var), *extra],
        cwd=ROOT,
        env={**os.environ, **sim_env(sim)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_burst(sim: Simulator, proc: subprocess.Popen[str]) -> None:
    """Until the batch has used createFeed's burst and sits in the limiter's wait."""
    deadline = time.monotonic() + 60
    while sim.counters.feeds_created < CREATE_FEED_BURST:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.0)


def test_sigterm_during_a_rate_limit_wait_ends_the_service_within_seconds(
    sim: Simulator, tmp_path: Path
) -> None:
    var, settings = loaded(tmp_path, sim)
    proc = serve(settings, var, sim)
    wait_for_burst(sim, proc)
    created = sim.counters.feeds_created
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    print(f"SIGTERM to exit: {took:.2f} s")
    assert proc.returncode == 0, out
    assert took < 5, out
    assert "event=stopping signal=SIGTERM" in out
    assert sim.counters.feeds_created == created  # no feed created after the signal


def test_sighup_stops_cleanly_and_says_it_did_not_reload(sim: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    proc = serve(settings_toml(tmp_path / "s.toml", sim), var, sim)
    deadline = time.monotonic() + 30
    while not (var / "outbox" / "status.txt").exists():  # the loop runs: signals handled
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGHUP)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert 'event=stopping signal=SIGHUP action="stop, not reload"' in out
    assert "event=service_stopped" in out


def test_once_timeout_is_honoured_during_a_rate_limit_wait(sim: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 200))
    settings = settings_for(
        var,
        sim,
        feed={"max_messages": 10},
        spapi={
            "use_orders_api": False,
            "endpoint": sim.url,
            "token_url": f"{sim.url}/auth/o2/token",
        },
    )
    with service(settings, sim_secrets(sim)) as svc:
        started = time.monotonic()
        outcome = svc.run_once(5)
        took = time.monotonic() - started
    print(f"--timeout 5 ended after {took:.2f} s")
    assert outcome.exit == ExitCode.TIMED_OUT
    assert took < 5 + 5


def test_once_logs_no_error_line_when_all_is_well(sim: Simulator, tmp_path: Path) -> None:
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
    proc = serve(settings_toml(tmp_path / "s.toml", sim), var, sim, "--once", "--timeout", "60")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert [line for line in out.splitlines() if " ERROR " in line] == []


def test_once_starts_no_inbox_watcher_that_could_log_an_error_when_stopped(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """watchdog logs an ERROR when its observer is stopped mid-read (a race at close);
    --once scans on every pass and needs no observer, so it never starts one."""
    from typer.testing import CliRunner

    import ingest.local
    import run

    started: list[object] = []

    class Recording(ingest.local.Observer):  # type: ignore[misc,valid-type]
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(ingest.local, "Observer", Recording)
    for key, value in sim_env(sim).items():
        monkeypatch.setenv(key, value)
    var = tmp_path / "var"
    write_orders(var / "inbox" / "a.csv", order_lines(1, 2))
    settings = settings_toml(tmp_path / "s.toml", sim)
    args = ["--settings", str(settings), "--data-dir", str(var), "--once", "--timeout", "60"]
    result = CliRunner().invoke(run.app, args)
    assert result.exit_code == 0, result.output
    assert started == []
