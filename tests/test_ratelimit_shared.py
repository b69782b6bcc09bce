"""Rate limits shared by every worker: one token bucket per account and operation in the
PostgreSQL ledger, so N workers spend one account's plan between them, not N times it.

The proof is the simulator's own accounting with Amazon's real limits on: three worker
processes calling as fast as their limiter lets them, and not one call past the account's
limit; the same three with a limiter each go past it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_db import pg_schema_url
from simulator_support import Msg, config, feed_xml

from feeds.simulator import OrderBook, Simulator, start_simulator
from feeds.spapi.errors import RateLimitWouldWait
from feeds.spapi.ratelimit import RateLimiter, UsagePlan, only_if_free
from processors.ledger.ratelimits import SLOT_MARGIN_SECONDS, SharedRateLimiter, limiter_for
from processors.ledger.store import Ledger

WORKERS = 3
CALLS = 10  # each: 30 getFeed calls against a burst of 15 at 2 per second


@pytest.fixture
def pg_ledger() -> Iterator[Ledger]:
    with pg_schema_url() as url:
        ledger = Ledger.open(url)
        try:
            yield ledger
        finally:
            ledger.close()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_two_workers_share_one_bucket_per_account_and_operation(pg_ledger: Ledger) -> None:
    plans = {"op": UsagePlan(0.001, 3)}
    first = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans, sleep=Sleeps())
    second = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans, sleep=Sleeps())
    assert [first.take("op"), second.take("op")] == [0.0, 0.0]
    assert first.take("op") <= SLOT_MARGIN_SECONDS  # the burst's last call
    assert second.take("op") > 900  # the burst is spent by both: a call a 1000 s
    assert second.available("op") < 0


def test_other_accounts_and_operations_have_their_own_buckets(pg_ledger: Ledger) -> None:
    plans = {"op": UsagePlan(0.001, 1), "other": UsagePlan(0.001, 1)}
    acme = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    assert acme.take("op") <= SLOT_MARGIN_SECONDS
    assert acme.take("other") <= SLOT_MARGIN_SECONDS
    bolt = SharedRateLimiter(pg_ledger.engine, "bolt@EU", plans=plans)
    assert bolt.take("op") <= SLOT_MARGIN_SECONDS
    assert acme.take("op") > 900


def test_a_waiting_call_sleeps_its_debt_off(pg_ledger: Ledger) -> None:
    sleeps = Sleeps()
    limiter = SharedRateLimiter(
        pg_ledger.engine, "acme@NA", plans={"op": UsagePlan(10.0, 1)}, sleep=sleeps
    )
    limiter.acquire("op")  # the burst's one call: only the margin
    limiter.acquire("op")  # a tenth of a second later
    assert len(sleeps) == 2
    assert 0.0 < sleeps[0] <= SLOT_MARGIN_SECONDS < sleeps[1] <= SLOT_MARGIN_SECONDS + 0.1


def test_the_rate_amazon_announces_is_adopted_for_every_worker(pg_ledger: Ledger) -> None:
    plans = {"op": UsagePlan(0.001, 1)}
    one = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    other = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    one.take("op")
    one.observe("op", "100")
    # 100 per second now, not one per 1000 s: the next calls leave at once or nearly.
    assert other.take("op") < SLOT_MARGIN_SECONDS + 0.02
    assert other.take("op") < SLOT_MARGIN_SECONDS + 0.02


def test_a_429_empties_the_shared_bucket_for_every_worker(pg_ledger: Ledger) -> None:
    plans = {"op": UsagePlan(0.001, 5)}
    one = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    other = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    one.take("op")
    one.throttled("op")
    assert other.take("op") > 900


def test_an_optional_call_takes_a_token_only_if_one_is_there(pg_ledger: Ledger) -> None:
    """The order mirror's calls: now or not at all, never a debt another worker pays."""
    plans = {"op": UsagePlan(0.001, 1)}
    one = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    other = SharedRateLimiter(pg_ledger.engine, "acme@NA", plans=plans)
    with only_if_free():
        assert one.acquire("op") == 0.0
        left = other.available("op")
        with pytest.raises(RateLimitWouldWait):
            other.acquire("op")
    assert other.available("op") == pytest.approx(left, abs=0.01)  # nothing was taken
    assert left < 1


def test_an_optional_call_waits_as_usual_outside_only_if_free(pg_ledger: Ledger) -> None:
    sleeps = Sleeps()
    limiter = SharedRateLimiter(
        pg_ledger.engine, "acme@NA", plans={"op": UsagePlan(0.001, 1)}, sleep=sleeps
    )
    limiter.acquire("op")
    limiter.acquire("op")
    assert sleeps[-1] > 900


def test_the_in_process_limiter_refuses_optional_calls_the_same_way() -> None:
    limiter = RateLimiter({"op": UsagePlan(0.001, 1)}, sleep=Sleeps())
    with only_if_free():
        assert limiter.acquire("op") == 0.0
        with pytest.raises(RateLimitWouldWait):
            limiter.acquire("op")
    assert limiter.available("op") == pytest.approx(0.0, abs=0.01)


def test_limits_off_never_touch_the_ledger(pg_ledger: Ledger) -> None:
    limiter = SharedRateLimiter(
        pg_ledger.engine, "acme@NA", plans={"op": UsagePlan(0.001, 1)}, enabled=False
    )
    assert [limiter.acquire("op") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.available("op") == float("inf")


def test_sqlite_keeps_the_buckets_in_the_one_workers_process(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'l.sqlite3'}") as ledger:
        assert isinstance(limiter_for(ledger.engine, "acme@NA"), RateLimiter)


def test_postgresql_shares_the_buckets(pg_ledger: Ledger) -> None:
    assert isinstance(limiter_for(pg_ledger.engine, "acme@NA"), SharedRateLimiter)


# -- three processes, the simulator's accounting ---------------------------------------------


def _worker(
    url: str, sim_url: str, creds: dict[str, str], feed_id: str, shared: bool, go: Any
) -> None:
    """One worker process: its own engine and client, calling getFeed as fast as allowed."""
    from feeds.spapi.client import SpApiClient
    from feeds.spapi.errors import Throttled
    from processors.ledger.engine import make_engine

    engine = make_engine(url)
    limiter = SharedRateLimiter(engine, "default@NA") if shared else None
    with SpApiClient(
        endpoint=sim_url,
        token_url=f"{sim_url}/auth/o2/token",
        max_retries=0,
        limiter=limiter,
        **creds,  # type: ignore[arg-type]
    ) as client:
        with contextlib.suppress(Throttled):  # signed in before the start
            client.feeds.get_feed(feed_id)
        go.wait(30)
        for _ in range(CALLS - 1):
            with contextlib.suppress(Throttled):
                client.feeds.get_feed(feed_id)
    engine.dispose()


def _run_workers(url: str, sim: Simulator, *, shared: bool) -> None:
    creds = {
        "client_id": sim.config.client_id,
        "client_secret": sim.config.client_secret,
        "refresh_token": sim.config.refresh_token,
    }
    feed_id = _a_feed(sim)
    mp = multiprocessing.get_context("spawn")
    go = mp.Event()
    procs = [
        mp.Process(target=_worker, args=(url, sim.url, creds, feed_id, shared, go))
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def _a_feed(sim: Simulator) -> str:
    from feeds.spapi.client import SpApiClient

    with SpApiClient(
        endpoint=sim.url,
        token_url=f"{sim.url}/auth/o2/token",
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        refresh_token=sim.config.refresh_token,
    ) as client:
        xml = feed_xml(Msg("111-0000001-0000001", [("11111111111111", 1)]))
        return client.feeds.submit(xml, marketplace_ids=["ATVPDKIKX0DER"])


def _url(ledger: Ledger) -> str:
    return ledger.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def amazon() -> Iterator[Simulator]:
    sim = start_simulator(config(enforce_rate_limits=True, auto_create_orders=True), OrderBook())
    try:
        yield sim
    finally:
        sim.stop()


def test_three_workers_on_postgresql_never_pass_the_accounts_limit(
    amazon: Simulator, pg_ledger: Ledger
) -> None:
    _run_workers(_url(pg_ledger), amazon, shared=True)
    merchant = amazon.config.merchant_id
    assert amazon.counters.account_calls[(merchant, "getFeed")] == WORKERS * CALLS
    assert amazon.counters.over_limit == {}
    assert amazon.counters.throttled == {}


def test_three_workers_with_a_limiter_each_go_past_the_limit(
    amazon: Simulator, pg_ledger: Ledger
) -> None:
    """What the shared buckets prevent: each worker spending the whole burst itself."""
    _run_workers(_url(pg_ledger), amazon, shared=False)
    assert amazon.counters.over_limit[(amazon.config.merchant_id, "getFeed")] > 0
