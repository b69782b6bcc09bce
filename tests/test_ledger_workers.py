"""Several workers: SKIP LOCKED sharing on PostgreSQL, one instance only on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_db import order, ship, take_in
from service_support import service, settings_for
from sqlalchemy.engine import make_url

from config.settings import Secrets
from feeds.errors import AlreadyRunning
from processors.ledger.store import Ledger
from processors.service import Service


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_two_workers_claim_different_lines(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        take_in(a, [ship(i + 2, order(i)) for i in range(6)])
        with a.claim_queued("acme", 4) as first, b.claim_queued("acme", 4) as second:
            got_a = {ln.id for ln in first.lines}
            got_b = {ln.id for ln in second.lines}
        assert (len(got_a), len(got_b), got_a & got_b) == (4, 2, set())


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_second_instance_on_one_sqlite_file_is_refused(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as first, Ledger.open(ledger_url) as second:
        first.acquire_instance_lock()
        with pytest.raises(AlreadyRunning, match="another shipfeed instance"):
            second.acquire_instance_lock()


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_instance_lock_follows_the_file_whatever_path_reaches_it(
    ledger_url: str, tmp_path: Path
) -> None:
    db = Path(make_url(ledger_url).database or "")
    (tmp_path / "elsewhere").symlink_to(db.parent)
    other_url = f"sqlite:///{tmp_path / 'elsewhere' / db.name}"
    with Ledger.open(ledger_url) as first, Ledger.open(other_url) as second:
        first.acquire_instance_lock()
        with pytest.raises(AlreadyRunning):
            second.acquire_instance_lock()


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_instance_lock_is_free_again_after_close(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as first:
        first.acquire_instance_lock()
    with Ledger.open(ledger_url) as second:
        assert second.acquire_instance_lock() is not None


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_postgres_takes_no_instance_lock(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as a, Ledger.open(ledger_url) as b:
        assert a.acquire_instance_lock() is None
        assert b.acquire_instance_lock() is None


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_two_services_with_their_own_data_dirs_on_one_sqlite_ledger_second_exits_73(
    ledger_url: str, tmp_path: Path
) -> None:
    first, second = (settings_for(tmp_path / d, ledger_url=ledger_url) for d in ("a", "b"))
    with service(first), pytest.raises(AlreadyRunning) as refused:
        Service.start(second, Secrets())
    assert refused.value.exit_code == 73
