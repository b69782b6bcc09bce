"""Feed claims on PostgreSQL: one worker at a time per feed, gone when the worker dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from processors.ledger.feedclaims import try_claim
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)


def test_a_feed_claimed_by_one_worker_is_refused_to_another_until_released(
    ledger_url: str,
) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        claim = try_claim(a, 7)
        assert claim is not None
        assert try_claim(b, 7) is None
        claim.release()
        again = try_claim(b, 7)
        assert again is not None
        again.release()


def test_one_worker_never_gets_a_feed_it_already_holds(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a:
        claim = try_claim(a, 7)
        assert claim is not None
        assert try_claim(a, 7) is None
        claim.release()


def test_a_worker_holds_all_its_feed_claims_on_one_connection(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a:
        claims = [try_claim(a, feed_id) for feed_id in range(1, 41)]
        held_connections = a.engine.pool.checkedout()  # type: ignore[attr-defined]
        for c in claims:
            assert c is not None
            c.release()
        assert held_connections == 1
        assert a.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_claim_ends_with_the_worker_that_died_holding_it(ledger_url: str) -> None:
    child = textwrap.dedent(
        f"""
        import sys, time
        from processors.ledger.feedclaims import try_claim
        from processors.ledger.store import Ledger
        ledger = Ledger.open({ledger_url!r})
        assert try_claim(ledger, 7) is not None
        print("held", flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with Ledger.open(ledger_url) as survivor:
            assert try_claim(survivor, 7) is None
            proc.kill()  # SIGKILL: no cleanup of any kind runs in the worker
            proc.wait(timeout=10)
            deadline = time.monotonic() + 10
            claim = try_claim(survivor, 7)
            while claim is None and time.monotonic() < deadline:
                time.sleep(0.1)
                claim = try_claim(survivor, 7)
            assert claim is not None
            claim.release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
