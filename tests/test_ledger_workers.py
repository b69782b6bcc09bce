"""Several workers: SKIP LOCKED sharing on PostgreSQL, one instance only on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_db import order, ship, take_in

from feeds.errors import AlreadyRunning
from processors.ledger.store import Ledger


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_two_workers_claim_different_lines(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        take_in(a, [ship(i + 2, order(i)) for i in range(6)])
        with a.claim_queued("acme", 4) as first, b.claim_queued("acme", 4) as second:
            got_a = {ln.id for ln in first.lines}
            got_b = {ln.id for ln in second.lines}
        assert (len(got_a), len(got_b), got_a & got_b) == (4, 2, set())


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_second_instance_on_sqlite_is_refused(ledger_url: str, tmp_path: Path) -> None:
    with Ledger.open(ledger_url) as first, Ledger.open(ledger_url) as second:
        first.acquire_instance_lock(tmp_path)
        with pytest.raises(AlreadyRunning, match="another shipfeed instance"):
            second.acquire_instance_lock(tmp_path)


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_instance_lock_is_free_again_after_close(ledger_url: str, tmp_path: Path) -> None:
    with Ledger.open(ledger_url) as first:
        first.acquire_instance_lock(tmp_path)
    with Ledger.open(ledger_url) as second:
        assert second.acquire_instance_lock(tmp_path) is not None


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_postgres_takes_no_instance_lock(ledger_url: str, tmp_path: Path) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        assert a.acquire_instance_lock(tmp_path) is None
        assert b.acquire_instance_lock(tmp_path) is None
