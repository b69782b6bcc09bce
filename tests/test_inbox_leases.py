"""Workers divide the sellers' inboxes through leases in the ledger that expire
(processors/ledger/inboxleases.py). Each worker here is its own Ledger (its own database
sessions) on one PostgreSQL schema; the clock is the test's, so expiry needs no waiting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from processors.ledger.inboxleases import InboxLeases, lease_holders
from processors.ledger.store import Ledger
from processors.operator import status_data, status_text

SELLERS = ["s1", "s2", "s3", "s4", "s5"]
LEASE = 60.0


class Clocks:
    """The database time the leases are judged by, and each worker's monotonic clock."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def new_worker(ledger_url: str, clocks: Clocks) -> Iterator[Callable[[], InboxLeases]]:
    ledgers: list[Ledger] = []

    def make() -> InboxLeases:
        ledger = Ledger.open(ledger_url)
        ledgers.append(ledger)
        return InboxLeases(
            ledger, SELLERS, LEASE, now=lambda: clocks.now, monotonic=lambda: clocks.mono
        )

    yield make
    for ledger in ledgers:
        ledger.close()


pg = pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)


@pg
def test_a_worker_alone_takes_every_sellers_lease(new_worker: Callable[[], InboxLeases]) -> None:
    a = new_worker()
    assert a.held() == frozenset()
    assert a.keep() == a.held() == frozenset(SELLERS)
    assert set(lease_holders(a.ledger).values()) == {a.worker}


@pg
def test_a_second_worker_gets_its_share_once_the_first_hands_the_surplus_over(
    new_worker: Callable[[], InboxLeases],
) -> None:
    a, b = new_worker(), new_worker()
    a.keep()
    assert b.keep() == frozenset()  # all held: the first worker has yet to see the second
    a.keep()
    b.keep()
    assert sorted([len(a.held()), len(b.held())]) == [2, 3]  # ceil(5 / 2) at most each
    assert a.held() | b.held() == frozenset(SELLERS)
    assert a.held() & b.held() == frozenset()


@pg
def test_a_killed_workers_leases_are_taken_over_once_they_expire(
    new_worker: Callable[[], InboxLeases], clocks: Clocks
) -> None:
    a, b = new_worker(), new_worker()
    a.keep()
    b.keep()
    a.keep()
    b.keep()
    lost = a.held()  # then a is killed: it renews nothing any more
    clocks.advance(LEASE - 1)
    b.keep()
    assert b.held() & lost == frozenset()
    clocks.advance(2)
    assert b.keep() == frozenset(SELLERS)
    assert set(lease_holders(b.ledger).values()) == {b.worker}


@pg
def test_renewed_leases_stay_with_their_worker_past_their_first_expiry(
    new_worker: Callable[[], InboxLeases], clocks: Clocks
) -> None:
    a, b = new_worker(), new_worker()
    for _ in range(2):
        a.keep()
        b.keep()
    first, second = a.held(), b.held()
    for _ in range(6):  # both renew every 20 s, for two minutes
        clocks.advance(LEASE / 3)
        assert (a.keep(), b.keep()) == (first, second)


@pg
def test_a_worker_stopping_hands_its_leases_back_at_once(
    new_worker: Callable[[], InboxLeases],
) -> None:
    a, b = new_worker(), new_worker()
    a.keep()
    b.keep()
    a.hand_back_all()
    assert a.held() == frozenset()
    assert b.keep() == frozenset(SELLERS)


@pg
def test_a_worker_that_cannot_renew_stops_polling_when_its_leases_would_expire(
    new_worker: Callable[[], InboxLeases], clocks: Clocks
) -> None:
    a = new_worker()
    a.keep()
    clocks.advance(LEASE - 1)
    assert a.held() == frozenset(SELLERS)
    clocks.advance(1)
    assert a.held() == frozenset()


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_on_sqlite_the_one_worker_holds_every_seller_from_the_start(
    new_worker: Callable[[], InboxLeases],
) -> None:
    a = new_worker()
    assert a.held() == a.keep() == frozenset(SELLERS)


@pg
def test_status_shows_each_live_worker_with_its_inboxes(
    new_worker: Callable[[], InboxLeases],
) -> None:
    a, b = new_worker(), new_worker()
    for w in (a, b, a, b):
        w.keep()
    workers = status_data(a.ledger)["workers"]
    assert workers["alive"] == sorted([a.worker, b.worker])
    assert {w: len(s) for w, s in workers["inboxes"].items()} == {
        a.worker: len(a.held()),
        b.worker: len(b.held()),
    }
    assert workers["without_worker"] == []


@pg
def test_status_names_the_inboxes_no_live_worker_holds(
    new_worker: Callable[[], InboxLeases],
) -> None:
    a, b = new_worker(), new_worker()
    for w in (a, b, a, b):
        w.keep()
    freed = a.held()
    a.hand_back_all()  # a stops; b has not taken its inboxes yet
    data = status_data(b.ledger)
    assert data["workers"]["alive"] == [b.worker]
    assert data["workers"]["without_worker"] == sorted(freed)
    assert f"inboxes no live worker holds: {len(freed)}" in status_text(data)
