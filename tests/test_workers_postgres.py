"""Several workers on one PostgreSQL ledger: each feed is sent and tracked by one of them.

A worker claims a feed for the whole step (processors.ledger.feedclaims); another worker
that meets the same feed meanwhile leaves it alone instead of sending it a second time,
and never takes the ledger's refusal of a step for Amazon's answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from lifecycle_support import World, row
from workers_support import run_workers

from feeds.spapi.client import SpApiClient
from processors.batcher import run_batch
from processors.context import Context
from processors.ledger.store import Ledger
from processors.tracker import run_tracking

O1, O2, O3 = "111-0000001-0000001", "111-0000002-0000001", "111-0000003-0000001"
I1, I2, I3 = "10000000000001", "10000000000002", "10000000000003"
NO_LOOKUPS = {"use_orders_api": False}

pytestmark = pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)


def _three_orders(w: World) -> None:
    w.order(O1, [(I1, 1)])
    w.order(O2, [(I2, 1)])
    w.order(O3, [(I3, 2)])
    w.drop("f.csv", [row(O1, I1, "1"), row(O2, I2, "1"), row(O3, I3, "2")])
    w.intake()


def _second_worker(w: World, ledger_url: str) -> Context:
    """Another service on the same ledger and the same Amazon: its own connections."""
    ledger = Ledger.open(ledger_url, clock=w.clock)
    client = SpApiClient(
        endpoint=w.sim.url,
        token_url=f"{w.sim.url}/auth/o2/token",
        client_id=w.sim.config.client_id,
        client_secret=w.sim.config.client_secret,
        refresh_token=w.sim.config.refresh_token,
        timeout=10.0,
        max_retries=1,
        rate_limits=False,
    )
    w.closers += [ledger.close, client.close]
    return replace(w.ctx, ledger=ledger, client=client)


def _wait_until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the first worker never got there"
        time.sleep(0.02)


def _slow(w: World, operation: str) -> None:
    """The next call of ``operation`` answers two seconds late."""
    w.sim.config.faults.slow_seconds = 2.0
    w.sim.config.faults.trigger("slow", operation)


def test_a_feed_another_worker_is_creating_is_left_to_it(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)
    other = _second_worker(w, ledger_url)
    _slow(w, "createFeed")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(w.batch)
        _wait_until(lambda: w.sim.counters.api_calls["createFeed"] == 1)
        second = run_batch(other, w.seller)
        sent = first.result(timeout=30)
    assert (second.feeds_created, second.stopped) == ([], None)
    assert len(sent.feeds_created) == 1
    assert w.sim.counters.feeds_created == 1


def test_a_feed_another_worker_is_uploading_is_left_to_it(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)
    other = _second_worker(w, ledger_url)
    _slow(w, "createFeedDocument")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(w.batch)
        _wait_until(lambda: w.sim.counters.api_calls["createFeedDocument"] == 1)
        second = run_batch(other, w.seller)
        sent = first.result(timeout=30)
    assert (second.feeds_created, second.stopped) == ([], None)
    assert len(sent.feeds_created) == 1
    assert set(w.statuses().values()) == {"submitted"}


def test_a_feed_another_worker_is_tracking_is_left_to_it(
    world_factory: Callable[..., World], ledger_url: str
) -> None:
    w = world_factory(spapi=NO_LOOKUPS)
    _three_orders(w)
    (feed_id,) = w.batch().feeds_created
    w.sim.advance()
    other = _second_worker(w, ledger_url)
    _slow(w, "getFeed")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(run_tracking, w.ctx, w.seller)
        _wait_until(lambda: w.sim.counters.api_calls["getFeed"] == 1)
        second = run_tracking(other, w.seller)
        tracked = first.result(timeout=30)
    assert (second.polled, second.completed) == (0, [])
    assert tracked.completed == [feed_id]
    assert w.sim.counters.confirmations == {(O1, I1): 1, (O2, I2): 1, (O3, I3): 1}


def test_two_workers_with_slow_feed_creation_confirm_every_line_exactly_once(
    ledger_url: str, tmp_path: Path
) -> None:
    outcome = run_workers(ledger_url, tmp_path, workers=2, count=600, slow_create_seconds=1.0)
    assert outcome.settled, outcome.line()
    assert outcome.statuses == {"confirmed": 600}, outcome.line()
    assert (outcome.applied, outcome.applied_twice, outcome.messages) == (600, 0, 600)
    assert outcome.step_errors == {}, outcome.line()
