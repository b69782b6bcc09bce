"""SP-API calls are counted in the ledger, per process, so /metrics served by any process
shows every worker's calls: a worker adds its counts every few seconds, /metrics sums."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from ledger_db import BACKENDS, ledger_db_url
from prometheus_client.parser import text_string_to_metric_families
from service_support import FAST, order_lines, sim_env, write_orders
from simulator_support import config

from feeds.simulator import OrderBook, Simulator, start_simulator
from feeds.spapi import callstats
from processors.callcounter import CallCounter
from processors.ledger import callcounts
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_processs_calls_reach_the_ledger_within_the_flush_interval(ledger: Ledger) -> None:
    counter = CallCounter(ledger, every=0.1).start()
    try:
        for outcome in (callstats.OK, callstats.THROTTLED, callstats.THROTTLED, callstats.ERROR):
            callstats.report("createFeed", outcome)
        wait_for(lambda: len(callcounts.totals(ledger)) == 3, 5, "the counts in the ledger")
        assert callcounts.totals(ledger) == {
            ("createFeed", "ok"): 1,
            ("createFeed", "throttled"): 2,
            ("createFeed", "error"): 1,
        }
    finally:
        counter.close()


def test_closing_adds_the_counts_not_yet_flushed(ledger: Ledger) -> None:
    counter = CallCounter(ledger, every=3600).start()
    callstats.report("getFeed", callstats.OK)
    assert callcounts.totals(ledger) == {}
    counter.close()
    callstats.report("getFeed", callstats.OK)  # after close: no longer counted
    assert callcounts.totals(ledger) == {("getFeed", "ok"): 1}


def test_each_flush_adds_only_what_was_counted_since_the_last(ledger: Ledger) -> None:
    counter = CallCounter(ledger, every=3600).start()
    try:
        callstats.report("getFeed", callstats.OK)
        counter.flush()
        counter.flush()  # nothing new: nothing added
        callstats.report("getFeed", callstats.OK)
        counter.flush()
    finally:
        counter.close()
    assert callcounts.totals(ledger) == {("getFeed", "ok"): 2}


def test_the_counts_of_several_processes_are_summed(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    callcounts.add(ledger, "host-a:1:t", {("createFeed", "ok"): 2}, now)
    callcounts.add(ledger, "host-b:7:t", {("createFeed", "ok"): 3, ("getFeed", "error"): 1}, now)
    callcounts.add(ledger, "host-a:1:t", {("createFeed", "ok"): 1}, now)
    assert callcounts.totals(ledger) == {("createFeed", "ok"): 6, ("getFeed", "error"): 1}


# -- a worker process and a separate web process on one ledger ---------------------------


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = start_simulator(config(auto_create_orders=True), OrderBook())
    try:
        yield s
    finally:
        s.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(p: subprocess.Popen[str]) -> str:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out


def calls(metrics: str, operation: str, outcome: str) -> float:
    for fam in text_string_to_metric_families(metrics):
        for s in fam.samples:
            if s.name == "shipfeed_spapi_calls_total" and s.labels == {
                "operation": operation,
                "outcome": outcome,
            }:
                return s.value
    return 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_separate_web_process_shows_the_workers_spapi_calls(
    backend: str, sim: Simulator, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    with ledger_db_url(backend, tmp_path) as url:
        settings = tmp_path / "s.toml"
        lines = [f'ledger_url = "{url}"', "[service]"]
        lines += [f"{k} = {v}" for k, v in FAST.items()]
        lines += ["[spapi]", f'endpoint = "{sim.url}"', f'token_url = "{sim.url}/auth/o2/token"']
        lines += ["[simulator]", 'enabled = "never"']
        settings.write_text("\n".join(lines) + "\n")
        common = ["--settings", str(settings), "--data-dir", str(var)]
        worker = spawn(common, sim_env(sim))
        web: subprocess.Popen[str] | None = None
        try:
            port = free_port()
            wait_for(lambda: (var / "outbox" / "status.txt").exists(), 60, "the worker")
            web = spawn([*common, "web", "--port", str(port)], {})
            base = f"http://127.0.0.1:{port}"

            def up() -> bool:
                try:
                    return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(up, 60, "the web process")
            write_orders(var / "inbox" / "a.csv", order_lines(1, 3))
            wait_for(
                lambda: calls(httpx.get(f"{base}/metrics").text, "createFeed", "ok") >= 1,
                60,
                "the worker's createFeed in the web process's /metrics",
            )
            assert worker.poll() is None  # counted while it runs, not only when it stops
            metrics = httpx.get(f"{base}/metrics").text
            assert calls(metrics, "createFeedDocument", "ok") >= 1
        finally:
            out = stop(worker)
            if web is not None:
                stop(web)
        assert "event=service_stopped" in out
