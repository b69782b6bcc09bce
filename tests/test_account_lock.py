"""The feed lock of a selling-partner account: one holder at a time, a bounded wait that a
stop ends, released on every path, and (PostgreSQL) gone with the worker that died."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from feeds.errors import Stopping
from processors.ledger.accountlock import hold_account
from processors.ledger.errors import AccountBusy
from processors.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "default@NA"


def _try(ledger: Ledger, account: str = ACCOUNT, wait: float = 0.0) -> bool:
    """Whether ``ledger`` gets the account's lock within ``wait`` seconds (then let go)."""
    try:
        with hold_account(ledger, account, stop=threading.Event(), wait_seconds=wait):
            return True
    except AccountBusy:
        return False


def test_an_account_held_by_one_worker_is_refused_to_another_until_released(
    ledger_url: str,
) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        hold = hold_account(a, ACCOUNT, stop=threading.Event(), wait_seconds=0)
        assert not _try(b)
        hold.release()
        assert _try(b)


def test_a_waiting_worker_gets_the_account_once_the_holder_lets_go(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        hold = hold_account(a, ACCOUNT, stop=threading.Event(), wait_seconds=0)
        threading.Timer(0.3, hold.release).start()
        started = time.monotonic()
        assert _try(b, wait=10)
        assert 0.2 < time.monotonic() - started < 5


def test_two_accounts_never_wait_for_each_other(ledger_url: str) -> None:
    with (
        Ledger.open(ledger_url) as a,
        Ledger.open(ledger_url) as b,
        hold_account(a, ACCOUNT, stop=threading.Event(), wait_seconds=0),
    ):
        assert _try(b, "default@EU")


def test_the_wait_for_a_held_account_is_bounded(ledger_url: str) -> None:
    with (
        Ledger.open(ledger_url) as a,
        Ledger.open(ledger_url) as b,
        hold_account(a, ACCOUNT, stop=threading.Event(), wait_seconds=0),
    ):
        started = time.monotonic()
        with pytest.raises(AccountBusy):
            hold_account(b, ACCOUNT, stop=threading.Event(), wait_seconds=0.5)
        assert 0.4 < time.monotonic() - started < 5


def test_a_stop_ends_the_wait_for_a_held_account_at_once(ledger_url: str) -> None:
    stop = threading.Event()
    with (
        Ledger.open(ledger_url) as a,
        Ledger.open(ledger_url) as b,
        hold_account(a, ACCOUNT, stop=threading.Event(), wait_seconds=0),
    ):
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        with pytest.raises(Stopping):
            hold_account(b, ACCOUNT, stop=stop, wait_seconds=600)
        assert time.monotonic() - started < 3


def test_an_account_is_released_when_the_step_holding_it_raises(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        with (
            pytest.raises(RuntimeError),
            hold_account(a, ACCOUNT, stop=threading.Event(), wait_seconds=0),
        ):
            raise RuntimeError("createFeed blew up")
        assert _try(b)


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_an_account_lock_ends_with_the_worker_that_died_holding_it(ledger_url: str) -> None:
    child = textwrap.dedent(
        f"""
        import threading, time
        from processors.ledger.accountlock import hold_account
        from processors.ledger.store import Ledger
        ledger = Ledger.open({ledger_url!r})
        hold_account(ledger, {ACCOUNT!r}, stop=threading.Event(), wait_seconds=0)
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
            assert not _try(survivor)
            proc.kill()  # SIGKILL: no cleanup of any kind runs in the worker
            proc.wait(timeout=10)
            assert _try(survivor, wait=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
